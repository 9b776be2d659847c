import type { Metadata } from "next";
import { FormAlert } from "@/app/_components/fields";
import { formatWhen, SessionsTable } from "@/app/_components/sessions-table";
import { ConfirmIdentityForm } from "@/app/_components/confirm-identity-form";
import { PasskeysTable } from "@/app/_components/passkeys-table";
import { getDb } from "@/lib/db";
import { isIdentityConfirmed, reauthMinutes } from "@/lib/auth/confirm-identity";
import { requireSession } from "@/lib/auth/current";
import { listUserSessions, type UserSession } from "@/lib/auth/user-sessions";
import { secondFactorsOf } from "@/lib/second-factor/second-factors";
import { listPasskeys } from "@/lib/second-factor/passkeys";
import { AccountNav } from "../account-nav";
import { removeAllPasskeysAction, signOutOtherSessionsAction, signOutSessionAction } from "./actions";

export const metadata: Metadata = { title: "Sessions" };

const NOTICES: Record<string, string> = {
  "signed-out-one": "That session has been signed out.",
  "signed-out-others": "All your other sessions have been signed out.",
  "already-ended": "That session had already ended.",
  "passkeys-removed": "Every passkey was removed from your account. We emailed you about it.",
  "no-passkeys": "Your account had no passkeys left to remove.",
  "confirm-passkeys": "Removing the passkeys needs a recent confirmation: confirm it's you below, then try again.",
};

function SignOutButton({ session, device, current }: { session: UserSession; device: string; current: boolean }) {
  if (current) return <span className="hint">Current session</span>;
  return (
    <form action={signOutSessionAction}>
      <input type="hidden" name="sessionId" value={session.id} />
      <button type="submit" className="danger">
        Sign out
        <span className="visually-hidden">
          {" "}
          {device}, last active {formatWhen(session.lastSeenAt)}
        </span>
      </button>
    </form>
  );
}

export default async function SessionsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const session = await requireSession("/account/sessions");
  const params = await searchParams;
  const notice = typeof params.notice === "string" ? NOTICES[params.notice] : undefined;
  const sessions = await listUserSessions(await getDb(), session.user.id);
  const hasOthers = sessions.some((s) => s.id !== session.sessionId);
  const db = await getDb();
  const passkeys = await listPasskeys(db, session.user.id);
  const confirmed = passkeys.length > 0 && (await isIdentityConfirmed(db, { userId: session.user.id, sessionId: session.sessionId }));
  const factors = await secondFactorsOf(db, session.user.id);

  return (
    <div className="card wide stack">
      <AccountNav current="/account/sessions" />
      <h1>Sessions</h1>
      <p className="lead">
        Every browser, app and command-line tool signed in to your account. Sign out of any you do not recognise, then change your password.
      </p>
      {notice ? (
        <FormAlert tone="success">
          <p>{notice}</p>
        </FormAlert>
      ) : null}
      <SessionsTable
        sessions={sessions}
        currentId={session.sessionId}
        action={(s, device, current) => <SignOutButton session={s} device={device} current={current} />}
      />
      {hasOthers ? (
        <form action={signOutOtherSessionsAction}>
          <div>
            <button type="submit" className="secondary">
              Sign out of all other sessions
            </button>
          </div>
        </form>
      ) : (
        <p className="hint">This is your only active session.</p>
      )}
      {passkeys.length > 0 ? (
        <section className="stack" aria-labelledby="passkeys-heading" data-testid="sessions-passkeys">
          <h2 id="passkeys-heading">Passkeys</h2>
          <p>
            A passkey signs in without the password, so ending sessions or resetting the password does not stop it. If someone else got into
            your account, remove every passkey you do not recognise, or all of them, and add yours again.
          </p>
          <PasskeysTable passkeys={passkeys} />
          {confirmed ? (
            <form action={removeAllPasskeysAction}>
              <div>
                <button type="submit" className="danger">
                  Remove all passkeys
                </button>
              </div>
            </form>
          ) : (
            <ConfirmIdentityForm
              returnTo="/account/sessions"
              twoFactor={factors.totp || factors.passkey}
              passkey={factors.passkey}
              minutes={reauthMinutes()}
              reason="Removing every passkey needs a recent confirmation."
            />
          )}
        </section>
      ) : null}
    </div>
  );
}
