import type { Metadata } from "next";
import { ConfirmIdentityForm } from "@/app/_components/confirm-identity-form";
import { getDb } from "@/lib/db";
import { isIdentityConfirmed, reauthMinutes } from "@/lib/auth/confirm-identity";
import { requireSession } from "@/lib/auth/current";
import { secondFactorsOf } from "@/lib/second-factor/second-factors";
import { AccountNav } from "../account-nav";

export const metadata: Metadata = { title: "Your data" };

const PAGE = "/account/export";
// The API route serves the file for the session cookie too: one place builds it.
const DOWNLOAD = "/api/v1/me/export";

export default async function ExportPage() {
  const session = await requireSession(PAGE);
  const db = await getDb();
  const you = { userId: session.user.id, sessionId: session.sessionId };
  // Where and when the account signs in is enough to follow its owner: a session cookie alone
  // must not take it away.
  const confirmed = await isIdentityConfirmed(db, you);
  const factors = confirmed ? { totp: false, passkey: false } : await secondFactorsOf(db, you.userId);
  return (
    <div className="card wide stack">
      <AccountNav current={PAGE} />
      <h1>Your data</h1>
      <p>
        Download a copy of what Rekey holds about you, as a JSON file: your account (address, when it was created and confirmed, when the
        password last changed, a pending deletion), your sessions, the security events recorded about your account, whether two-factor
        authentication is on and how many recovery codes are left, and an email change waiting for confirmation.
      </p>
      <p className="hint">
        The file never holds your password, a code, a link or a key: none of them is stored in a form anyone could read back. Keep the file
        private all the same: it lists where and when you signed in.
      </p>
      {confirmed ? (
        <p>
          <a className="button-link" href={DOWNLOAD} data-testid="download-export">
            Download your data (JSON)
          </a>
        </p>
      ) : (
        <ConfirmIdentityForm
          returnTo={PAGE}
          twoFactor={factors.totp || factors.passkey}
          passkey={factors.passkey}
          minutes={reauthMinutes()}
          reason="Your data shows where and when you signed in, so downloading it needs a recent confirmation."
        />
      )}
    </div>
  );
}
