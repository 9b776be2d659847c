import "server-only";
import { is, lt, SQL, sql } from "drizzle-orm";
import type { Database, Transaction } from "@/db/client";
import { auditEvents } from "@/db/schema";
import { log } from "./log";
import { countEvent, countUnrecordedRefusal } from "./metrics";
import { emailFingerprint } from "./tokens";

export type AuditEventName =
  | "user.registered"
  | "user.registration_replaced"
  | "user.signed_in"
  | "user.sign_in_failed"
  | "user.sign_in_throttled"
  | "password_reset.requested"
  | "password_reset.throttled"
  | "password_reset.email_sent"
  | "password_reset.email_failed"
  | "password_reset.token_invalid"
  | "password_reset.token_expired"
  | "password_reset.token_reused"
  | "password_reset.completed"
  | "password_reset.link_attempts_spent"
  | "password.changed"
  | "password.change_failed"
  | "password_change.reported"
  | "password_change.report_link_refused"
  | "sessions.revoked"
  | "sessions.all_ended"
  | "registration.existing_email"
  | "email_verification.sent"
  | "email_verification.email_failed"
  | "email_verification.wrong_password"
  | "email_verification.throttled"
  | "email_verification.link_refused"
  | "email.verified"
  | "email_change.requested"
  | "email_change.confirmed"
  | "email_change.undone"
  | "email_change.cancelled"
  | "email_change.refused"
  | "email_change.link_refused"
  | "email_change.email_failed"
  | "job.abandoned"
  | "admin.password_checked"
  | "admin.password_check_failed"
  | "identity.confirmed"
  | "identity.confirm_failed"
  | "identity.confirm_throttled"
  | "admin.user_looked_up"
  | "admin.user_opened"
  | "admin.sessions_revoked"
  | "admin.password_reset_forced"
  | "admin.verification_resent"
  | "admin.audit_exported"
  | "admin.two_factor_removed"
  | "two_factor.enabled"
  | "two_factor.disabled"
  | "two_factor.recovery_codes_replaced"
  | "two_factor.recovery_code_used"
  | "two_factor.code_failed"
  | "two_factor.throttled"
  | "passkey.added"
  | "passkey.renamed"
  | "passkey.removed"
  | "passkey.all_removed"
  | "passkey.removed_by_report"
  | "device.approved"
  | "device.denied"
  | "device.user_code_throttled"
  | "account.exported"
  | "account.deletion_requested"
  | "account.deletion_cancelled"
  | "account.deletion_cancel_link_refused"
  | "account.deletion_email_failed"
  | "account.erased"
  | "registration.deletion_pending";

export interface AuditEntry {
  event: AuditEventName;
  userId?: string | null;
  /** Stored only as a keyed fingerprint. */
  email?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, string | number | boolean | null>;
}

/**
 * The INSERT of one audit row, as SQL (a CTE body or a statement of its own). `from` makes it
 * conditional, e.g. sql`from held`: no row there, no event; with SQL values taken from the rows
 * of `from`, one event per row. Call noteAudited once it ran.
 */
export function auditInsertSql(entry: AuditRow, from: SQL = sql``): SQL {
  const details = is(entry.details, SQL) ? entry.details : sql`${JSON.stringify(entry.details ?? {})}::jsonb`;
  const emailHmac = is(entry.email, SQL) ? entry.email : entry.email ? emailFingerprint(entry.email) : null;
  return sql`insert into ${auditEvents} (event, user_id, email_hmac, ip, user_agent, details)
    select ${entry.event}, ${entry.userId ?? null}, ${emailHmac}, ${entry.ip ?? null},
      ${entry.userAgent ?? null}, ${details} ${from}`;
}

/**
 * An entry for auditInsertSql whose fields may be computed in the statement itself; `email` as
 * SQL is the address's fingerprint (tokens.ts emailFingerprint), never the address.
 */
export type AuditRow = { event: AuditEventName } & {
  [K in "userId" | "email" | "ip" | "userAgent"]?: string | null | SQL;
} & { details?: AuditEntry["details"] | SQL };

/** What follows every recorded event in this process: its metric and its log line. */
export function noteAudited(entry: AuditEntry): void {
  countEvent(entry.event);
  log("info", entry.event, { userId: entry.userId ?? undefined, ...entry.details });
}

/** Records a security event (no token, password or hash: callers pass ids and counts). */
export async function audit(db: Database | Transaction, entry: AuditEntry): Promise<void> {
  await db.execute(auditInsertSql(entry));
  noteAudited(entry);
}

/**
 * Records a request refused by a rate limit without letting a flood grow the table: only the
 * refusal that crosses the limit writes a row (one per limit, subject and window). Later ones
 * write a log line at the 2nd, 4th, 8th… refusal with the running count; the exact count stays
 * in the limit's bucket until its window ends.
 */
export async function auditThrottled(db: Database | Transaction, entry: AuditEntry, refusedInWindow: number): Promise<void> {
  if (refusedInWindow === 1) {
    await audit(db, entry);
    return;
  }
  noteRefusalContinuing(entry, refusedInWindow);
}

/**
 * What stands for a refusal past the first of its window instead of an audit row: the
 * rekey_audit_unrecorded_total metric for each, and a log line at the 2nd, 4th, 8th…
 */
export function noteRefusalContinuing(entry: AuditEntry, refusedInWindow: number): void {
  if (refusedInWindow > 1) countUnrecordedRefusal(entry.event);
  if (refusedInWindow > 1 && (refusedInWindow & (refusedInWindow - 1)) === 0) {
    log("warn", `${entry.event}.continuing`, { userId: entry.userId ?? undefined, ...entry.details, refused_in_window: refusedInWindow });
  }
}

/** Deletes audit events older than `retentionDays`; returns how many. */
export async function deleteExpiredAuditEvents(db: Database, retentionDays: number): Promise<number> {
  const deleted = await db
    .delete(auditEvents)
    .where(lt(auditEvents.createdAt, sql`now() - make_interval(days => ${retentionDays})`))
    .returning({ id: auditEvents.id });
  return deleted.length;
}
