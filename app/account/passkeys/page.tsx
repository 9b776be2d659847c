import type { Metadata } from "next";
import { ConfirmIdentityForm } from "@/app/_components/confirm-identity-form";
import { FormAlert } from "@/app/_components/fields";
import { PasskeysTable } from "@/app/_components/passkeys-table";
import { getDb } from "@/lib/db";
import { isIdentityConfirmed, reauthMinutes } from "@/lib/auth/confirm-identity";
import { requireSession } from "@/lib/auth/current";
import { secondFactorsOf } from "@/lib/second-factor/second-factors";
import { listPasskeys, type PasskeySummary } from "@/lib/second-factor/passkeys";
import { PASSKEY_NAME_MAX } from "@/lib/validation/passkeys";
import { AccountNav } from "../account-nav";
import { AddPasskey } from "./add-passkey";
import { removePasskeyAction, renamePasskeyAction } from "./actions";
import styles from "./passkeys.module.css";

export const metadata: Metadata = { title: "Passkeys" };

const PAGE = "/account/passkeys";

const NOTICES: Record<string, { tone: "success" | "error"; text: string }> = {
  renamed: { tone: "success", text: "The passkey was renamed." },
  removed: { tone: "success", text: "The passkey was removed. We emailed you about it." },
  "not-found": { tone: "error", text: "That passkey is not on your account (any more)." },
  "bad-name": { tone: "error", text: `Give the passkey a name of 1 to ${PASSKEY_NAME_MAX} characters.` },
  confirm: { tone: "error", text: "Removing a passkey needs a recent confirmation: confirm it's you below, then try again." },
};

function PasskeyActions({ passkey, confirmed }: { passkey: PasskeySummary; confirmed: boolean }) {
  return (
    <div className={styles.actions}>
      <form action={renamePasskeyAction} className={styles.rename}>
        <input type="hidden" name="passkeyId" value={passkey.id} />
        <label>
          <span className="visually-hidden">New name for {passkey.name}</span>
          <input type="text" name="name" defaultValue={passkey.name} maxLength={PASSKEY_NAME_MAX + 20} required autoComplete="off" />
        </label>
        <button type="submit" className="secondary">
          Rename<span className="visually-hidden"> {passkey.name}</span>
        </button>
      </form>
      {confirmed ? (
        <form action={removePasskeyAction}>
          <input type="hidden" name="passkeyId" value={passkey.id} />
          <button type="submit" className="danger">
            Remove<span className="visually-hidden"> {passkey.name}</span>
          </button>
        </form>
      ) : null}
    </div>
  );
}

export default async function PasskeysPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const session = await requireSession(PAGE);
  const db = await getDb();
  const params = await searchParams;
  const notice = typeof params.notice === "string" ? NOTICES[params.notice] : undefined;
  const passkeys = await listPasskeys(db, session.user.id);
  // "Confirm it's you" first: a passkey added by whoever holds this cookie would outlive a
  // password reset, and removing one can lock the owner out.
  const confirmed = await isIdentityConfirmed(db, { userId: session.user.id, sessionId: session.sessionId });
  const factors = await secondFactorsOf(db, session.user.id);

  return (
    <div className="card wide stack">
      <AccountNav current={PAGE} />
      <h1>Passkeys</h1>
      <p className="lead">
        A passkey signs you in with your device&apos;s fingerprint, face or PIN instead of a password, and works as a second factor that a
        fake site cannot phish. It only works on this site, and the server keeps only its public half.
      </p>
      {notice ? (
        <FormAlert tone={notice.tone}>
          <p>{notice.text}</p>
        </FormAlert>
      ) : null}
      {confirmed ? null : (
        <noscript>
          <p>Adding a passkey needs JavaScript. Everything else on this page, and every other way to sign in, works without it.</p>
        </noscript>
      )}
      {passkeys.length > 0 ? (
        <PasskeysTable passkeys={passkeys} action={(passkey) => <PasskeyActions passkey={passkey} confirmed={confirmed} />} />
      ) : (
        <p data-testid="no-passkeys">You have no passkeys yet.</p>
      )}
      <section className="stack" aria-labelledby="add-heading">
        <h2 id="add-heading">Add a passkey</h2>
        {confirmed ? (
          <AddPasskey />
        ) : (
          <ConfirmIdentityForm
            returnTo={PAGE}
            twoFactor={factors.totp || factors.passkey}
            passkey={factors.passkey}
            minutes={reauthMinutes()}
            reason="Adding or removing a passkey needs a recent confirmation."
          />
        )}
      </section>
    </div>
  );
}
