import type { Metadata } from "next";
import { FormAlert } from "@/app/_components/fields";
import { getDb } from "@/lib/db";
import { hasRecentPasswordCheck, PASSWORD_CHECK_MAX_AGE_MINUTES, requireAdmin } from "@/lib/admin/access";
import { endAllSessionsAction } from "../actions";
import { PasswordCheckForm } from "../password-check-form";
import { FindUserForm } from "./find-user-form";

export const metadata: Metadata = { title: "Users" };

const NOTICES: Record<string, { tone: "success" | "error"; text: string }> = {
  "password-needed": {
    tone: "error",
    text: `Enter your password again first: admin actions need it within the last ${PASSWORD_CHECK_MAX_AGE_MINUTES} minutes.`,
  },
  "password-checked": { tone: "success", text: "Password confirmed." },
  "confirm-needed": { tone: "error", text: "Tick the box to confirm that every user, you included, will be signed out." },
};

export default async function AdminUsersPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const admin = await requireAdmin();
  const query = await searchParams;
  const notice = typeof query.notice === "string" ? NOTICES[query.notice] : undefined;
  const checked = await hasRecentPasswordCheck(await getDb(), admin.sessionId);
  return (
    <div className="card wide stack">
      <h1>Users</h1>
      {notice ? (
        <FormAlert tone={notice.tone}>
          <p>{notice.text}</p>
        </FormAlert>
      ) : null}
      <p className="lead">Find one account by its exact email address. There is no list of accounts, by design.</p>
      <FindUserForm />

      <h2>Every account</h2>
      <p>
        End every session of every user at once: every browser, app and command-line tool is signed out, you included, and sign-ins waiting
        for their second step must start again. Use it after a breach; passwords keep working.
      </p>
      {checked ? (
        <form action={endAllSessionsAction} className="stack">
          <label>
            <input type="checkbox" name="confirm" value="yes" required /> I understand that every user, me included, will be signed out
          </label>
          <div>
            <button type="submit" className="danger">
              End every session
            </button>
          </div>
        </form>
      ) : (
        <>
          <p>Enter your password to act on every account (asked again after {PASSWORD_CHECK_MAX_AGE_MINUTES} minutes).</p>
          <PasswordCheckForm returnTo="/admin/users" />
        </>
      )}
    </div>
  );
}
