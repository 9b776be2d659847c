import "server-only";
import { eq } from "drizzle-orm";
import type { Database } from "@/db/client";
import { users } from "@/db/schema";
import { audit } from "../audit";
import { createSession } from "../auth/sessions";
import { sessionSecondFactorAt } from "../auth/user-sessions";
import type { RequestContext } from "../client-ip";
import type { Schedule } from "../jobs/definition";
import { hashPassword, passwordPolicyErrors, verifyPassword } from "../password-hashing";
import { consumeRateLimit, refundRateLimit, resetRateLimit, type RateLimit } from "../rate-limit";
import { lockUser } from "../user-lock";
import { changeCredentials } from "../credential-change";
import { passwordChangedNotice } from "./password-changed-notice";

/** Wrong current passwords allowed per account: 5 per 15 minutes. */
export const CHANGE_PASSWORD_LIMIT: RateLimit = { name: "change-password", max: 5, windowSeconds: 15 * 60 };

export type ChangePasswordResult =
  | { ok: true; session: { sessionToken: string; expires: Date } }
  | { ok: false; code: "WRONG_PASSWORD" }
  | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number }
  | { ok: false; code: "PASSWORD_REJECTED"; passwordErrors: string[] }
  | { ok: false; code: "CONFLICT" };

/**
 * A signed-in user replaces their password. On success, in one transaction: the new hash,
 * every session of the user ended, every outstanding reset link spent, the audit event, and a
 * fresh session for this browser (returned: the caller sets its cookie). Only the current
 * password is asked: when the session making the change (`currentSessionId`) passed a second
 * factor, the fresh one keeps that mark.
 */
export async function changePassword(
  db: Database,
  input: {
    userId: string;
    currentPassword: string;
    newPassword: string;
    currentSessionId?: string;
    /** How the caller's fresh session is carried (an app's bearer token keeps its kind and name); a browser's cookie unless given. */
    carrier?: { kind: "browser" | "app" | "device"; clientName: string | null };
  } & RequestContext,
  schedule: Schedule,
): Promise<ChangePasswordResult> {
  // Counted before the guess is checked (one atomic upsert), so parallel guesses cannot all be
  // judged within the limit; a right password gives its count back.
  const budget = await consumeRateLimit(db, CHANGE_PASSWORD_LIMIT, input.userId);
  if (!budget.allowed) return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: budget.retryAfterSeconds };

  const user = await db.query.users.findFirst({
    where: eq(users.id, input.userId),
    columns: { id: true, email: true, passwordHash: true },
  });
  if (!user?.passwordHash || !(await verifyPassword(user.passwordHash, input.currentPassword))) {
    await audit(db, { event: "password.change_failed", userId: input.userId, ip: input.ip, userAgent: input.userAgent });
    return { ok: false, code: "WRONG_PASSWORD" };
  }
  await refundRateLimit(db, CHANGE_PASSWORD_LIMIT, user.id);

  const passwordErrors = await passwordPolicyErrors(input.newPassword);
  if (input.newPassword === input.currentPassword) passwordErrors.push("Choose a password different from your current one.");
  if (passwordErrors.length > 0) return { ok: false, code: "PASSWORD_REJECTED", passwordErrors };

  const passwordHash = await hashPassword(input.newPassword);
  const oldHash = user.passwordHash;
  const outcome = await db.transaction(async (tx) => {
    // The user row first, as every credential change does (see lockUser): no deadlocks.
    if (!(await lockUser(tx, user.id))) return null;
    // Read before the sessions go: this browser's sign-in already passed the second factor. Its
    // time is kept, not renewed: no code was entered here ("Confirm it's you" counts from it).
    const secondFactorAt = input.currentSessionId ? await sessionSecondFactorAt(tx, user.id, input.currentSessionId) : null;
    const changed = await changeCredentials(
      tx,
      db,
      {
        userId: user.id,
        // Only if the hash is still the one just verified: a reset in between wins.
        password: { hash: passwordHash, ifCurrentHashIs: oldHash },
        event: "password.changed",
        reason: "password_change",
        notice: passwordChangedNotice,
        ip: input.ip,
        userAgent: input.userAgent,
      },
      schedule,
    );
    if (!changed) return null;
    // This browser (or app) stays signed in, on the new credentials.
    const session = await createSession(tx, {
      userId: user.id,
      credentialsVersion: changed.credentialsVersion,
      ip: input.ip,
      userAgent: input.userAgent,
      secondFactor: secondFactorAt !== null,
      secondFactorAt,
      ...input.carrier,
    });
    if (!session) throw new Error("the new credentials changed inside their own transaction");
    return { session };
  });
  if (!outcome) return { ok: false, code: "CONFLICT" };

  await resetRateLimit(db, CHANGE_PASSWORD_LIMIT, user.id);
  return { ok: true, session: { sessionToken: outcome.session.sessionToken, expires: outcome.session.expires } };
}
