import "server-only";
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "@/db/client";
import { sessions, users } from "@/db/schema";
import { audit } from "../audit";
import type { RequestContext } from "../client-ip";
import { env } from "../env";
import { verifyPassword } from "../password-hashing";
import { consumeRateLimit, type RateLimit } from "../rate-limit";
import { normalizeEmail } from "../validation/fields";

// Apart from access.ts so that it stays free of Next.js and Auth.js imports (testable in plain Node).

/** An admin action needs the password re-entered when the session's last check is older than this. */
export const PASSWORD_CHECK_MAX_AGE_MINUTES = 10;

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
 * Whether this session's password was checked (at sign-in or re-entered since) within
 * PASSWORD_CHECK_MAX_AGE_MINUTES. Measured by the database clock, like every session lifetime.
 */
export async function hasRecentPasswordCheck(db: Database, sessionId: string): Promise<boolean> {
  const [row] = await db
    .select({
      recent: sql<boolean>`coalesce(${sessions.passwordCheckedAt}, ${sessions.createdAt})
        > now() - make_interval(mins => ${PASSWORD_CHECK_MAX_AGE_MINUTES})`,
    })
    .from(sessions)
    .where(eq(sessions.id, sessionId));
  return row?.recent === true;
}

export type PasswordCheckResult =
  { ok: true } | { ok: false; code: "WRONG_PASSWORD" } | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

/**
 * Tries of the admin password form per admin account: a stolen admin cookie must not become
 * an unlimited password oracle. Every try counts (argon2 is the expensive part either way).
 */
export const ADMIN_PASSWORD_CHECK_LIMIT: RateLimit = { name: "admin-password-check", max: 5, windowSeconds: 15 * 60 };

/**
 * Re-verifies the admin's password and records the time on this session's row, so admin
 * actions work for the next PASSWORD_CHECK_MAX_AGE_MINUTES. Only the current credentials
 * count: a session of an older credentials version is not touched.
 */
export async function recordPasswordCheck(
  db: Database,
  admin: AdminContext,
  password: string,
  context: RequestContext,
): Promise<PasswordCheckResult> {
  const budget = await consumeRateLimit(db, ADMIN_PASSWORD_CHECK_LIMIT, admin.userId);
  if (!budget.allowed) return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: budget.retryAfterSeconds };
  const [user] = await db
    .select({ hash: users.passwordHash, version: users.credentialsVersion })
    .from(users)
    .where(eq(users.id, admin.userId));
  const entry = { userId: admin.userId, ip: context.ip, userAgent: context.userAgent, details: { admin_id: admin.userId } };
  if (!user?.hash || !(await verifyPassword(user.hash, password))) {
    await audit(db, { event: "admin.password_check_failed", ...entry });
    return { ok: false, code: "WRONG_PASSWORD" };
  }
  await audit(db, { event: "admin.password_checked", ...entry });
  await db
    .update(sessions)
    .set({ passwordCheckedAt: sql`now()` })
    .where(and(eq(sessions.id, admin.sessionId), eq(sessions.userId, admin.userId), eq(sessions.credentialsVersion, user.version)));
  return { ok: true };
}
