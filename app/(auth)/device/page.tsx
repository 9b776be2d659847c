import type { Metadata } from "next";
import { ConfirmIdentityForm } from "@/app/_components/confirm-identity-form";
import { FormAlert } from "@/app/_components/fields";
import { formatWhen } from "@/app/_components/sessions-table";
import { isIdentityConfirmed, reauthMinutes } from "@/lib/auth/confirm-identity";
import { requireSession } from "@/lib/auth/current";
import { getDb } from "@/lib/db";
import { openDeviceReview } from "@/lib/device/approval";
import { secondFactorsOf } from "@/lib/second-factor/second-factors";
import { describeUserAgent } from "@/lib/user-agent";
import { formatUserCode, normaliseUserCode } from "@/lib/validation/device-code";
import { decideDeviceAction } from "./actions";
import { DeviceCodeForm } from "./device-code-form";
import { devicePath } from "./paths";

export const metadata: Metadata = { title: "Sign in a device" };

type Search = Record<string, string | string[] | undefined>;
const one = (value: string | string[] | undefined): string | undefined => (typeof value === "string" ? value : undefined);

// GET has no side effect in any state: a link (verification_uri_complete) only fills the code
// in, and each step forward is a button press, a POST.
export default async function DevicePage({ searchParams }: { searchParams: Promise<Search> }) {
  const params = await searchParams;
  const review = one(params.review);
  const typed = one(params.code)?.slice(0, 64) ?? "";
  const session = await requireSession(devicePath(review ? { review } : typed ? { code: typed } : {}));
  const db = await getDb();
  const request = review ? await openDeviceReview(db, review, session.sessionId) : null;

  if (request && review) {
    const confirmed = await isIdentityConfirmed(db, { userId: session.user.id, sessionId: session.sessionId });
    const factors = confirmed ? { totp: false, passkey: false } : await secondFactorsOf(db, session.user.id);
    return (
      <div className="card stack">
        <h1>Sign in a device?</h1>
        <dl className="stack" data-testid="device-request">
          <div>
            <dt>Tool</dt>
            <dd data-testid="device-client-name">{request.clientName}</dd>
          </div>
          <div>
            <dt>Asked at</dt>
            <dd>
              <time dateTime={request.createdAt.toISOString()}>{formatWhen(request.createdAt)}</time>
            </dd>
          </div>
          <div>
            <dt>From</dt>
            <dd>
              {request.ip ?? "an unknown address"} ({describeUserAgent(request.userAgent)})
            </dd>
          </div>
        </dl>
        <p>
          Approving signs this tool in to your account ({session.user.email}) until you sign it out on your sessions page or change your
          password. Approve only a request you started yourself just now.
        </p>
        {confirmed ? (
          <form action={decideDeviceAction} className="stack" aria-label="Approve or deny the device">
            <input type="hidden" name="review" value={review} />
            <div className="links">
              <button type="submit" name="decision" value="approve" className="primary">
                Approve
              </button>
              <button type="submit" name="decision" value="deny" className="danger">
                Deny
              </button>
            </div>
          </form>
        ) : (
          <>
            <ConfirmIdentityForm
              returnTo={devicePath({ review })}
              twoFactor={factors.totp || factors.passkey}
              passkey={factors.passkey}
              minutes={reauthMinutes()}
              reason="Approving a device signs it in to your account."
            />
            <form action={decideDeviceAction} aria-label="Deny the device">
              <input type="hidden" name="review" value={review} />
              <input type="hidden" name="decision" value="deny" />
              <button type="submit" className="danger">
                Deny
              </button>
            </form>
          </>
        )}
      </div>
    );
  }

  const done = one(params.done);
  const normalised = normaliseUserCode(typed);
  return (
    <div className="card stack">
      <h1>Sign in a device</h1>
      {done === "approved" ? (
        <FormAlert tone="success">
          <p>Approved. Go back to the tool: it signs in within a few seconds.</p>
        </FormAlert>
      ) : done === "denied" ? (
        <FormAlert tone="success">
          <p>Denied. The tool will not be signed in.</p>
        </FormAlert>
      ) : review || one(params.notice) === "gone" ? (
        <FormAlert tone="error">
          <p>That request is no longer waiting: it expired, was already decided, or was opened in another session. Enter the code again.</p>
        </FormAlert>
      ) : null}
      <p className="lead">
        A command-line tool or another device asked to sign in to your account and showed you a code. Enter it here to see which tool asked,
        then approve or deny it.
      </p>
      <DeviceCodeForm code={normalised ? formatUserCode(normalised) : typed} />
    </div>
  );
}
