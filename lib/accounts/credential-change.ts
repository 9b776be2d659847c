import "server-only";
import { and, eq, sql } from "drizzle-orm";
import type { Database, Transaction } from "@/db/client";
import { passwordResetTokens, users } from "@/db/schema";
import { audit, type AuditEntry, type AuditEventName } from "../audit";
import { nextCredentialsVersion } from "../auth/sessions";
import { deleteUserSessions } from "../auth/user-sessions";
import type { RequestContext } from "../client-ip";
import type { JobDefinition, Schedule } from "../jobs/definition";
import { enqueueJob } from "../jobs/queue";
import { spendUserTokens } from "../single-use-tokens";

/** What becomes of the password in a credential change. */
export type NewPassword =
  /** A new hash (a reset also counts the address as confirmed, since the link came to it). */
  | { hash: string; confirmsEmail?: boolean; ifCurrentHashIs?: string }
  /** No password signs in any more: "This wasn't me", or an admin's forced reset (which keeps the old hash aside). */
  | { locked: "reported" | "forced" };

/** The email a credential change sends: a job whose payload is built from the changed user. */
export interface CredentialNotice<Input> {
  job: JobDefinition<unknown, Input>;
  payload(user: ChangedUser, context: RequestContext): Input;
}

export interface ChangedUser {
  id: string;
  email: string;
  passwordChangedAt: Date;
  credentialsVersion: number;
}

export interface CredentialChange<Input> extends RequestContext {
  userId: string;
  password: NewPassword;
  /** The audit event naming the change, and why the sessions ended (the "sessions.revoked" row's reason). */
  event: AuditEventName;
  reason: "password_reset" | "password_change" | "reported" | "admin_forced_reset";
  /** The change's own audit row's details. */
  details?: AuditEntry["details"];
  /** The operator who made the change, named in both audit rows. */
  adminId?: string;
  notice: CredentialNotice<Input>;
}

function passwordColumns(password: NewPassword) {
  if ("hash" in password) {
    return {
      passwordHash: password.hash,
      passwordChangedAt: sql`now()`,
      passwordResetForcedAt: null,
      retiredPasswordHash: null,
      ...(password.confirmsEmail ? { emailVerified: sql`coalesce(${users.emailVerified}, now())` } : {}),
    };
  }
  if (password.locked === "reported") return { passwordHash: null, passwordChangedAt: sql`now()` };
  // Forcing twice keeps the hash of the password the owner actually knew (sign-in tells them why it stopped working).
  return { retiredPasswordHash: sql`coalesce(${users.passwordHash}, ${users.retiredPasswordHash})`, passwordHash: null, passwordResetForcedAt: sql`now()` };
}

/**
 * THE credential change, in the caller's transaction (which holds the user's lock, see
 * lockUser): the password set or locked, the credentials version raised (so every session
 * issued before, even one whose sign-in is in flight, stops being live at commit), every
 * session ended, every outstanding reset link spent, the audit rows, and the owner's email
 * as a job that commits with the change. Null when the user is gone, or when
 * `ifCurrentHashIs` no longer matches (another change won).
 */
export async function changeCredentials<Input>(
  tx: Transaction,
  db: Database,
  change: CredentialChange<Input>,
  schedule: Schedule,
): Promise<{ user: ChangedUser; sessionsEnded: number } | null> {
  const { password } = change;
  const [user] = await tx
    .update(users)
    .set({ ...passwordColumns(password), credentialsVersion: nextCredentialsVersion() })
    .where("hash" in password && password.ifCurrentHashIs ? and(eq(users.id, change.userId), eq(users.passwordHash, password.ifCurrentHashIs)) : eq(users.id, change.userId))
    .returning({ id: users.id, email: users.email, passwordChangedAt: users.passwordChangedAt, credentialsVersion: users.credentialsVersion });
  if (!user) return null;
  const changed = { ...user, passwordChangedAt: user.passwordChangedAt ?? new Date() };
  const sessionsEnded = await deleteUserSessions(tx, user.id);
  await spendUserTokens(tx, passwordResetTokens, user.id);
  const context = { userId: user.id, ip: change.ip, userAgent: change.userAgent };
  const admin: Record<string, string> = change.adminId ? { admin_id: change.adminId } : {};
  await audit(tx, { event: change.event, ...context, details: change.details ?? (change.adminId ? admin : undefined) });
  await audit(tx, { event: "sessions.revoked", ...context, details: { count: sessionsEnded, reason: change.reason, ...admin } });
  await enqueueJob(db, change.notice.job, change.notice.payload(changed, { ip: change.ip, userAgent: change.userAgent }), schedule, tx);
  return { user: changed, sessionsEnded };
}
