import "server-only";
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "@/db/client";
import { sessions, users } from "@/db/schema";
import { env } from "../env";
import { hasSecondFactorSql } from "../second-factor/second-factors";
import { isAdminEmail, type AdminContext } from "./password-check";

// Apart from access.ts so that the rule stays free of Next.js and Auth.js imports (testable in plain Node).

/** The signed-in session as the admin gate needs it. */
export interface SignedInSession {
  userId: string;
  email: string;
  /** Whether the account's address is confirmed. */
  confirmed: boolean;
  sessionId: string;
}

export type AdminAdmission =
  | { status: "admitted"; admin: AdminContext }
  /**
   * An admin's account, on a session that did not pass a second factor while
   * ADMIN_REQUIRE_TWO_FACTOR is on. `twoFactorOn`: whether the account has two-factor on now
   * (then signing in again is enough; otherwise it must be turned on first).
   */
  | { status: "needs_two_factor"; twoFactorOn: boolean }
  | { status: "not_admin" };

/**
 * Whether `session` may use /admin. A stolen admin cookie of a password-only sign-in (or a
 * browser left signed in before two-factor was turned on) must not reach operator powers, so
 * the session itself must have passed a second factor, not merely the account have one.
 */
export async function admitAdmin(db: Database, session: SignedInSession | null): Promise<AdminAdmission> {
  if (!session?.confirmed || !isAdminEmail(session.email)) return { status: "not_admin" };
  const admin = { userId: session.userId, email: session.email, sessionId: session.sessionId };
  if (!env().ADMIN_REQUIRE_TWO_FACTOR) return { status: "admitted", admin };
  const [row] = await db
    .select({
      passed: sql<boolean>`${sessions.secondFactorAt} is not null`,
      twoFactorOn: hasSecondFactorSql(),
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, session.sessionId), eq(sessions.userId, session.userId)));
  // No row: the session ended between the cookie's look-up and this one; nothing to admit.
  if (!row) return { status: "not_admin" };
  if (row.passed) return { status: "admitted", admin };
  return { status: "needs_two_factor", twoFactorOn: row.twoFactorOn };
}
