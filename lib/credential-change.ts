import "server-only";
import { is, SQL, sql } from "drizzle-orm";
import { queryRows, type Database, type Transaction } from "@/db/client";
import { emailChangeTokens, passwordResetTokens, users } from "@/db/schema";
import { auditInsertSql, noteAudited, type AuditEntry, type AuditEventName } from "./audit";
import { nextCredentialsVersion } from "./auth/sessions";
import { deleteUserSessionsSql } from "./auth/user-sessions";
import type { RequestContext } from "./client-ip";
import type { JobDefinition, Schedule } from "./jobs/definition";
import { jobInsertSql } from "./jobs/queue";
import { spendUserTokensSql } from "./single-use-tokens";

// A change of credentials is one statement of named steps (the CTEs below), in the caller's
// transaction or on its own: a reset without a second factor runs it with the token's
// consumption in ONE statement, which is what keeps its p50 under hash + 15 ms
// (docs/decisions/003-one-statement-per-answer.md). Every other caller runs it as a call.

/** What becomes of the password in a credential change. */
export type NewPassword =
  /** A new hash (a reset also counts the address as confirmed: the link came to it). */
  | { hash: string; confirmsEmail?: boolean; ifCurrentHashIs?: string }
  /** No password signs in any more: "This wasn't me", or an admin's forced reset (which keeps the old hash aside). */
  | { locked: "reported" | "forced" };

/** The changed user's columns as the notice's payload sees them: SQL, read in the statement. */
export interface ChangedColumns {
  id: SQL;
  email: SQL;
  passwordChangedAt: SQL;
}

/** The email a credential change sends: a job, whose payload is built from the changed user in the statement. */
export interface CredentialNotice<Input> {
  job: JobDefinition<unknown, Input>;
  payload(user: ChangedColumns, context: RequestContext): { [K in keyof Input]: Input[K] | SQL };
}

export interface CredentialChange<Input> extends RequestContext {
  userId: string;
  password: NewPassword;
  /** The audit event naming the change, and why the sessions ended (the "sessions.revoked" row's reason). */
  event: AuditEventName;
  reason: "password_reset" | "password_change" | "reported" | "admin_forced_reset" | "deletion_cancelled";
  /** The change's own audit row's details. */
  details?: AuditEntry["details"];
  /** The operator who made the change, named in both audit rows. */
  adminId?: string;
  notice: CredentialNotice<Input>;
}

export interface ChangedCredentials {
  userId: string;
  credentialsVersion: number;
  sessionsEnded: number;
}

function passwordAssignments(password: NewPassword): SQL {
  if ("hash" in password) {
    return sql`password_hash = ${password.hash}, password_changed_at = now(), password_reset_forced_at = null, retired_password_hash = null
      ${password.confirmsEmail ? sql`, email_verified_at = coalesce(${users.emailVerified}, now())` : sql``}`;
  }
  if (password.locked === "reported") return sql`password_hash = null, password_changed_at = now()`;
  // Forcing twice keeps the hash of the password the owner actually knew (sign-in tells them why it stopped working).
  return sql`retired_password_hash = coalesce(${users.passwordHash}, ${users.retiredPasswordHash}),
    password_hash = null, password_reset_forced_at = now()`;
}

/** A jsonb object of `fields`: SQL values as the statement computes them, the others as text (a notice's ids and addresses). */
function jsonObjectSql(fields: Record<string, unknown>): SQL {
  const pairs = Object.entries(fields).map(([key, value]) =>
    is(value, SQL) ? sql`${key}::text, ${value}` : sql`${key}::text, ${value === undefined ? null : value}::text`,
  );
  return sql`jsonb_build_object(${sql.join(pairs, sql`, `)})`;
}

/** The operator who made the change, as both audit rows name them (nothing for the owner's own change). */
function adminOf<Input>(change: CredentialChange<Input>): Record<string, string> {
  return change.adminId ? { admin_id: change.adminId } : {};
}

/** The change's own audit row's details: the caller's, or the operator who made it. */
function changeDetails<Input>(change: CredentialChange<Input>): AuditEntry["details"] {
  return change.details ?? (change.adminId ? adminOf(change) : undefined);
}

/**
 * THE credential change as CTEs (`when`, boolean SQL, makes it conditional): `changed` sets or
 * locks the password and raises the credentials version, so every session issued before it,
 * even one whose sign-in is in flight, stops being live at commit; `ended_sessions` ends every
 * session; `spent_links` spends every outstanding reset link; the two audit rows; `queued`
 * writes the owner's email as a job, committed with the change. Read its outcome with
 * CHANGE_OUTCOME and hand it to noteCredentialChange.
 */
export function credentialChangeSql<Input>(change: CredentialChange<Input>, when: SQL = sql`true`): SQL {
  const { password } = change;
  const sameHash = "hash" in password && password.ifCurrentHashIs ? sql`and ${users.passwordHash} = ${password.ifCurrentHashIs}` : sql``;
  const context = { userId: sql`changed.id`, ip: change.ip, userAgent: change.userAgent };
  const admin = adminOf(change);
  const ended = sql`jsonb_build_object('count', (select count(*) from ended_sessions), 'reason', ${change.reason}::text)
    || ${JSON.stringify(admin)}::jsonb`;
  const user = { id: sql`changed.id`, email: sql`changed.email`, passwordChangedAt: sql`changed.password_changed_at` };
  const notice = jsonObjectSql(change.notice.payload(user, { ip: change.ip, userAgent: change.userAgent }));
  return sql`changed as (
        update ${users} set ${passwordAssignments(password)}, credentials_version = ${nextCredentialsVersion()}
        where ${users.id} = ${change.userId} ${sameHash} and ${when}
        returning id, email, password_changed_at, credentials_version),
      ended_sessions as (${deleteUserSessionsSql(change.userId, sql`exists (select 1 from changed)`)}),
      spent_links as (${spendUserTokensSql(passwordResetTokens, change.userId, sql`exists (select 1 from changed)`)}),
      cancelled_email_changes as (${spendUserTokensSql(emailChangeTokens, change.userId, sql`exists (select 1 from changed)`)} returning id),
      email_change_audited as (${auditInsertSql(
        { event: "email_change.cancelled", ...context, details: { reason: change.reason } },
        sql`from changed where exists (select 1 from cancelled_email_changes)`,
      )}),
      change_audited as (${auditInsertSql({ event: change.event, ...context, details: changeDetails(change) }, sql`from changed`)}),
      sessions_audited as (${auditInsertSql({ event: "sessions.revoked", ...context, details: ended }, sql`from changed`)}),
      queued as (${jobInsertSql(change.notice.job, notice, sql`from changed`)})`;
}

/** What a statement with credentialChangeSql's CTEs selects for noteCredentialChange. */
export const CHANGE_OUTCOME = sql`(select id from changed) as user_id, (select credentials_version from changed) as credentials_version,
  (select count(*) from ended_sessions)::int as sessions_ended, (select id from queued) as job_id,
  (select count(*) from cancelled_email_changes)::int as email_changes_cancelled`;

export type ChangeOutcomeRow = {
  user_id: string | null;
  credentials_version: number | null;
  sessions_ended: number;
  job_id: string | null;
  email_changes_cancelled?: number;
};

/**
 * What follows a credential change's statement in this process once it changed something: the
 * audit rows' metrics and log lines, and the owner's email scheduled. Null when nothing changed.
 */
export function noteCredentialChange<Input>(
  db: Database,
  row: ChangeOutcomeRow | undefined,
  change: CredentialChange<Input>,
  schedule: Schedule,
): ChangedCredentials | null {
  if (!row?.user_id || row.credentials_version === null || !row.job_id) return null;
  const context = { userId: row.user_id, ip: change.ip, userAgent: change.userAgent };
  const admin = adminOf(change);
  noteAudited({ event: change.event, ...context, details: changeDetails(change) });
  noteAudited({ event: "sessions.revoked", ...context, details: { count: row.sessions_ended, reason: change.reason, ...admin } });
  if (row.email_changes_cancelled) noteAudited({ event: "email_change.cancelled", ...context, details: { reason: change.reason } });
  schedule(db, row.job_id);
  return { userId: row.user_id, credentialsVersion: row.credentials_version, sessionsEnded: row.sessions_ended };
}

/**
 * Changes a user's credentials (credentialChangeSql) in transaction `tx`, which holds the
 * user's lock (see lockUser). Null when the user is gone, or when `ifCurrentHashIs` no longer
 * matches (another change won).
 */
export async function changeCredentials<Input>(
  tx: Transaction,
  db: Database,
  change: CredentialChange<Input>,
  schedule: Schedule,
): Promise<ChangedCredentials | null> {
  const [row] = await queryRows<ChangeOutcomeRow>(tx, sql`with ${credentialChangeSql(change)} select ${CHANGE_OUTCOME}`);
  return noteCredentialChange(db, row, change, schedule);
}
