import "server-only";
import type { Database, Transaction } from "@/db/client";
import { auditEvents } from "@/db/schema";
import { log } from "./log";
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
  | "password.changed"
  | "password.change_failed"
  | "password_change.reported"
  | "sessions.revoked"
  | "registration.existing_email"
  | "email_verification.sent"
  | "email_verification.email_failed"
  | "email_verification.wrong_password"
  | "email_verification.throttled"
  | "email.verified";

export interface AuditEntry {
  event: AuditEventName;
  userId?: string | null;
  /** Stored only as a keyed fingerprint. */
  email?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, string | number | boolean | null>;
}

/** Records a security event (no token, password or hash: callers pass ids and counts). */
export async function audit(db: Database | Transaction, entry: AuditEntry): Promise<void> {
  await db.insert(auditEvents).values({
    event: entry.event,
    userId: entry.userId ?? null,
    emailHmac: entry.email ? emailFingerprint(entry.email) : null,
    ip: entry.ip ?? null,
    userAgent: entry.userAgent ?? null,
    details: entry.details ?? {},
  });
  log("info", entry.event, { userId: entry.userId ?? undefined, ...entry.details });
}
