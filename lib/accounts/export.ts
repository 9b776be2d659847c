import "server-only";
import { and, asc, desc, eq, gt, isNull, sql } from "drizzle-orm";
import type { Database } from "@/db/client";
import { auditEvents, emailChangeTokens, sessions, users } from "@/db/schema";
import { audit } from "../audit";
import { isIdentityConfirmed, type ConfirmationNeeded, type ConfirmingSession } from "../auth/confirm-identity";
import type { RequestContext } from "../client-ip";
import { listPasskeys } from "../second-factor/passkeys";
import { recoveryCodesLeft } from "../second-factor/recovery-codes";

// The data export (GDPR articles 15 and 20): what Rekey holds about a person, as JSON. Every
// column is named here on purpose, never `select *`: a column added later (a hash, a sealed
// secret) must not reach the file unless someone chooses to add it. docs/data-export.md
// describes each field.

export const EXPORT_FORMAT = "rekey.account-export";
export const EXPORT_VERSION = 1;

type Time = string | null;

/** The export file's content (snake_case, times as ISO 8601 UTC). */
export interface AccountExport {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  exported_at: string;
  account: {
    id: string;
    email: string;
    name: string | null;
    created_at: string;
    email_verified_at: Time;
    password_changed_at: Time;
    password_reset_forced_at: Time;
    credentials_version: number;
    deletion_requested_at: Time;
  };
  two_factor: { enabled: boolean; enabled_at: Time; recovery_codes_left: number };
  /** Names and dates only: never a credential id or a public key. */
  passkeys: { id: string; name: string; created_at: string; last_used_at: Time; device_type: string | null; backed_up: boolean | null }[];
  pending_email_change: { new_email: string; requested_at: string; expires_at: string } | null;
  sessions: {
    id: string;
    kind: "browser" | "app" | "device";
    client_name: string | null;
    current: boolean;
    created_at: string;
    last_seen_at: string;
    expires_at: string;
    ip: string | null;
    user_agent: string | null;
    second_factor_at: Time;
  }[];
  audit_events: {
    event: string;
    at: string;
    ip: string | null;
    user_agent: string | null;
    details: Record<string, string | number | boolean | null>;
  }[];
}

export type ExportAccountResult = { ok: true; data: AccountExport } | ConfirmationNeeded;

const iso = (date: Date | null): Time => (date ? date.toISOString() : null);

/**
 * Everything Rekey holds about the owner of `session`, for a session that confirmed it's the
 * owner within the window ("Confirm it's you"); audited as account.exported. Never a password
 * hash, a token or its hash, a TOTP secret, a recovery code or a passkey's key material.
 */
export async function exportAccount(db: Database, input: ConfirmingSession & RequestContext): Promise<ExportAccountResult> {
  const { userId, sessionId } = input;
  if (!(await isIdentityConfirmed(db, { userId, sessionId }))) return { ok: false, code: "CONFIRMATION_NEEDED" };
  // Written first, so the file lists its own export too.
  await audit(db, { event: "account.exported", userId, ip: input.ip, userAgent: input.userAgent });
  const data = await db.transaction(async (tx) => {
    const [user] = await tx
      .select({
        id: users.id,
        email: users.email,
        name: users.name,
        createdAt: users.createdAt,
        emailVerified: users.emailVerified,
        passwordChangedAt: users.passwordChangedAt,
        passwordResetForcedAt: users.passwordResetForcedAt,
        credentialsVersion: users.credentialsVersion,
        deletionRequestedAt: users.deletionRequestedAt,
        twoFactorEnabledAt: users.twoFactorEnabledAt,
        exportedAt: sql<Date>`now()`.mapWith((value: string | Date) => new Date(value)),
      })
      .from(users)
      .where(eq(users.id, userId));
    if (!user) return null;
    const [pending] = await tx
      .select({ newEmail: emailChangeTokens.newEmail, createdAt: emailChangeTokens.createdAt, expiresAt: emailChangeTokens.expiresAt })
      .from(emailChangeTokens)
      .where(and(eq(emailChangeTokens.userId, userId), isNull(emailChangeTokens.usedAt), gt(emailChangeTokens.expiresAt, sql`now()`)))
      .orderBy(desc(emailChangeTokens.createdAt))
      .limit(1);
    const sessionRows = await tx
      .select({
        id: sessions.id,
        kind: sessions.kind,
        clientName: sessions.clientName,
        createdAt: sessions.createdAt,
        lastSeenAt: sessions.lastSeenAt,
        expires: sessions.expires,
        ip: sessions.ip,
        userAgent: sessions.userAgent,
        secondFactorAt: sessions.secondFactorAt,
      })
      .from(sessions)
      .where(eq(sessions.userId, userId))
      .orderBy(asc(sessions.createdAt), asc(sessions.id));
    const events = await tx
      .select({
        event: auditEvents.event,
        createdAt: auditEvents.createdAt,
        ip: auditEvents.ip,
        userAgent: auditEvents.userAgent,
        details: auditEvents.details,
      })
      .from(auditEvents)
      .where(eq(auditEvents.userId, userId))
      .orderBy(asc(auditEvents.createdAt), asc(auditEvents.id));
    const codesLeft = user.twoFactorEnabledAt ? await recoveryCodesLeft(tx, userId) : 0;
    const passkeyRows = await listPasskeys(tx, userId);

    const file: AccountExport = {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      exported_at: user.exportedAt.toISOString(),
      account: {
        id: user.id,
        email: user.email,
        name: user.name,
        created_at: user.createdAt.toISOString(),
        email_verified_at: iso(user.emailVerified),
        password_changed_at: iso(user.passwordChangedAt),
        password_reset_forced_at: iso(user.passwordResetForcedAt),
        credentials_version: user.credentialsVersion,
        deletion_requested_at: iso(user.deletionRequestedAt),
      },
      two_factor: { enabled: user.twoFactorEnabledAt !== null, enabled_at: iso(user.twoFactorEnabledAt), recovery_codes_left: codesLeft },
      passkeys: passkeyRows.map((p) => ({
        id: p.id,
        name: p.name,
        created_at: p.createdAt.toISOString(),
        last_used_at: iso(p.lastUsedAt),
        device_type: p.deviceType,
        backed_up: p.backedUp,
      })),
      pending_email_change: pending
        ? { new_email: pending.newEmail, requested_at: pending.createdAt.toISOString(), expires_at: pending.expiresAt.toISOString() }
        : null,
      sessions: sessionRows.map((s) => ({
        id: s.id,
        kind: s.kind,
        client_name: s.clientName,
        current: s.id === sessionId,
        created_at: s.createdAt.toISOString(),
        last_seen_at: s.lastSeenAt.toISOString(),
        expires_at: s.expires.toISOString(),
        ip: s.ip,
        user_agent: s.userAgent,
        second_factor_at: iso(s.secondFactorAt),
      })),
      audit_events: events.map((e) => ({
        event: e.event,
        at: e.createdAt.toISOString(),
        ip: e.ip,
        user_agent: e.userAgent,
        details: e.details,
      })),
    };
    return file;
  });
  // The account went between the confirmation and the read: its session went with it.
  return data ? { ok: true, data } : { ok: false, code: "CONFIRMATION_NEEDED" };
}

/** The file name the export downloads as: rekey-export-YYYY-MM-DD.json. */
export function exportFileName(data: AccountExport): string {
  return `rekey-export-${data.exported_at.slice(0, 10)}.json`;
}
