import type { Metadata } from "next";
import { FormAlert } from "@/app/_components/fields";
import { getDb } from "@/lib/db";
import { ConfirmIdentityForm } from "@/app/_components/confirm-identity-form";
import { hasRecentPasswordCheck, requireAdmin } from "@/lib/admin/access";
import { reauthMinutes } from "@/lib/auth/confirm-identity";
import { secondFactorsOf } from "@/lib/second-factor/second-factors";
import { checkAdminPasswordAction, endAllSessionsAction } from "../actions";
import { FindUserForm } from "./find-user-form";

export const metadata: Metadata = { title: "Users" };

const NOTICES: Record<string, { tone: "success" | "error"; text: string }> = {
  "password-needed": {
    tone: "error",
    text: "Confirm it's you first: admin actions need your password (and your code or passkey) entered within the last few minutes.",
  },
  "password-checked": { tone: "success", text: "Confirmed. You can act on every account now." },
  "confirm-needed": { tone: "error", text: "Tick the box to confirm that every user, you included, will be signed out." },
};

export default async function AdminUsersPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const admin = await requireAdmin();
  const query = await searchParams;
  const notice = typeof query.notice === "string" ? NOTICES[query.notice] : undefined;
  const db = await getDb();
  const checked = await hasRecentPasswordCheck(db, admin.sessionId);
  const adminFactors = checked ? { totp: false, passkey: false } : await secondFactorsOf(db, admin.userId);
  return (
    <div className="stack">
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
        <ConfirmIdentityForm
          returnTo="/admin/users"
          twoFactor={adminFactors.totp || adminFactors.passkey}
          passkey={adminFactors.passkey}
          minutes={reauthMinutes()}
          reason="Acting on every account needs a recent confirmation."
          action={checkAdminPasswordAction}
        />
      )}
    </div>
  );
}
