import "server-only";
import type { Database } from "@/db/client";
import {
  CONFIRM_IDENTITY_LIMIT,
  confirmIdentity,
  isSessionConfirmed,
  type ConfirmIdentityInput,
  type ConfirmIdentityResult,
} from "../auth/confirm-identity";
import type { RequestContext } from "../client-ip";
import { env } from "../env";
import type { Schedule } from "../jobs/definition";
import { normalizeEmail } from "../validation/fields";

// Apart from access.ts so that it stays free of Next.js and Auth.js imports (testable in plain Node).
// The admin area's password re-entry is the app's "Confirm it's you" step (lib/auth/confirm-identity.ts)
// under the admin's own audit event names.

/** Whether `email` is named in ADMIN_EMAILS (compared in the one normalised form addresses are stored in). */
export function isAdminEmail(email: string): boolean {
  return env().ADMIN_EMAILS.includes(normalizeEmail(email));
}

/** Who is acting in /admin: the admin's own user and this browser's session. */
export interface AdminContext {
  userId: string;
  email: string;
  sessionId: string;
}

/**
 * Whether this session is confirmed ("Confirm it's you": the password, plus a code with
 * two-factor on, at sign-in or since) within REAUTH_MINUTES.
 */
export async function hasRecentPasswordCheck(db: Database, sessionId: string): Promise<boolean> {
  return isSessionConfirmed(db, sessionId);
}

export type PasswordCheckResult = ConfirmIdentityResult;

/** Tries of the admin's "Confirm it's you" per account: the same limit as everyone's. */
export const ADMIN_PASSWORD_CHECK_LIMIT = CONFIRM_IDENTITY_LIMIT;

/**
 * The admin's "Confirm it's you": the password (and a code with two-factor on), audited as
 * admin.password_checked / admin.password_check_failed, recorded on this session's row so admin
 * actions work for the next REAUTH_MINUTES. A session of older credentials is not touched.
 */
export async function recordPasswordCheck(
  db: Database,
  admin: AdminContext,
  input: string | ConfirmIdentityInput,
  context: RequestContext,
  schedule: Schedule = () => {},
): Promise<PasswordCheckResult> {
  const fields = typeof input === "string" ? { password: input } : input;
  return confirmIdentity(db, { userId: admin.userId, sessionId: admin.sessionId, ...fields, ...context }, schedule, {
    confirmed: "admin.password_checked",
    failed: "admin.password_check_failed",
    details: { admin_id: admin.userId },
  });
}
