import "server-only";
import { notFound, redirect } from "next/navigation";
import type { Database } from "@/db/client";
import { currentSession } from "../auth/current";
import { getDb } from "../db";
import { admitAdmin, type AdminAdmission } from "./admission";
import { hasRecentPasswordCheck, type AdminContext } from "./password-check";

export {
  ADMIN_PASSWORD_CHECK_LIMIT,
  hasRecentPasswordCheck,
  isAdminEmail,
  recordPasswordCheck,
  type AdminContext,
  type PasswordCheckResult,
} from "./password-check";

/** Where an admin whose session did not pass a second factor is told how to get one. */
export const ADMIN_TWO_FACTOR_PAGE = "/account/admin-two-factor";

/**
 * For every /admin page and action: the signed-in admin, or a 404. The answer is the same
 * 404 signed in or not, so nobody who is not an admin learns that the area exists (a 403
 * would say so, a redirect to sign-in too). Only a confirmed account counts: whoever
 * registers an address listed in ADMIN_EMAILS without owning it never signs in anyway, but
 * the check holds even if that rule moves. An admin on a session that did not pass a second
 * factor (ADMIN_REQUIRE_TWO_FACTOR) is sent to ADMIN_TWO_FACTOR_PAGE instead: the page or
 * action does not run.
 */
export async function requireAdmin(): Promise<AdminContext> {
  const admission = await findAdminAdmission();
  if (admission.status === "needs_two_factor") redirect(ADMIN_TWO_FACTOR_PAGE);
  if (admission.status !== "admitted") notFound();
  return admission.admin;
}

/** The admin rule for this request's session (for route handlers, which answer on their own). */
export async function findAdminAdmission(): Promise<AdminAdmission> {
  const session = await currentSession();
  if (!session) return { status: "not_admin" };
  const { id, email, emailVerified } = session.user;
  return admitAdmin(await getDb(), { userId: id, email, confirmed: Boolean(emailVerified), sessionId: session.sessionId });
}

export type RecentCheckResult = { ok: true; admin: AdminContext } | { ok: false; code: "PASSWORD_CHECK_NEEDED"; admin: AdminContext };

/**
 * For admin actions that change something: the admin (else 404, as requireAdmin) and whether
 * the password was checked recently. When it was not, the action must not run; the page asks
 * for it again ("Confirm it's you", app/_components/confirm-identity-form.tsx).
 */
export async function requireRecentPasswordCheck(db: Database): Promise<RecentCheckResult> {
  const admin = await requireAdmin();
  if (!(await hasRecentPasswordCheck(db, admin.sessionId))) return { ok: false, code: "PASSWORD_CHECK_NEEDED", admin };
  return { ok: true, admin };
}
