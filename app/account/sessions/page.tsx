import type { Metadata } from "next";
import { FormAlert } from "@/app/_components/fields";
import { formatWhen, SessionsTable } from "@/app/_components/sessions-table";
import { getDb } from "@/lib/db";
import { requireSession } from "@/lib/auth/current";
import { listUserSessions, type UserSession } from "@/lib/auth/user-sessions";
import { AccountNav } from "../account-nav";
import { signOutOtherSessionsAction, signOutSessionAction } from "./actions";

export const metadata: Metadata = { title: "Sessions" };

const NOTICES: Record<string, string> = {
  "signed-out-one": "That session has been signed out.",
  "signed-out-others": "All your other sessions have been signed out.",
  "already-ended": "That session had already ended.",
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
    </div>
  );
}
