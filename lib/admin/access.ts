import "server-only";
import { notFound } from "next/navigation";
import type { Database } from "@/db/client";
import { currentSession } from "../auth/current";
import { hasRecentPasswordCheck, isAdminEmail, type AdminContext } from "./password-check";

export {
  ADMIN_PASSWORD_CHECK_LIMIT,
  hasRecentPasswordCheck,
  isAdminEmail,
  recordPasswordCheck,
  type AdminContext,
  type PasswordCheckResult,
} from "./password-check";

/**
 * For every /admin page and action: the signed-in admin, or a 404. The answer is the same
 * 404 signed in or not, so nobody who is not an admin learns that the area exists (a 403
 * would say so, a redirect to sign-in too). Only a confirmed account counts: whoever
 * registers an address listed in ADMIN_EMAILS without owning it never signs in anyway, but
 * the check holds even if that rule moves.
 */
export async function requireAdmin(): Promise<AdminContext> {
  const admin = await findAdmin();
  if (!admin) notFound();
  return admin;
}

/** The signed-in admin, or null (for route handlers, which answer their own 404). */
export async function findAdmin(): Promise<AdminContext | null> {
  const session = await currentSession();
  if (!session?.user.emailVerified || !isAdminEmail(session.user.email)) return null;
  return { userId: session.user.id, email: session.user.email, sessionId: session.sessionId };
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
