import type { AdapterAccountType } from "@auth/core/adapters";
import { sql } from "drizzle-orm";
import { bigint, boolean, date, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

// Field names are the ones @auth/drizzle-adapter expects; column names are ours.
export const users = pgTable("users", {
  id: text("id")
    .primaryKey()
    .$defaultFn(() => crypto.randomUUID()),
  name: text("name"),
  /** Always trimmed and lower-cased (lib/validation/fields.ts). */
  email: text("email").notNull().unique(),
  emailVerified: timestamptz("email_verified_at"),
  image: text("image"),
  /** argon2id PHC string; null when the account has no usable password. */
  passwordHash: text("password_hash"),
  passwordChangedAt: timestamptz("password_changed_at"),
  createdAt: timestamptz("created_at").notNull().defaultNow(),
  /**
   * Raised by every change that must end all sessions (reset, change password, "This wasn't
   * me"); a session is valid only while it records the current value (lib/auth/sessions.ts).
   */
  credentialsVersion: integer("credentials_version").notNull().default(1),
  /**
   * Set when an administrator forced a password reset; cleared by the next completed reset or
   * password change. With `retiredPasswordHash` it lets sign-in tell the owner why their
   * password stopped working (lib/admin/users.ts explains what a stranger can learn).
   */
  passwordResetForcedAt: timestamptz("password_reset_forced_at"),
  /** The hash the forced reset took away: only ever compared, never accepted as a password. */
  retiredPasswordHash: text("retired_password_hash"),
  /** The TOTP key, sealed (lib/second-factor/); null while two-factor authentication is off. */
  twoFactorSecret: text("two_factor_secret"),
  twoFactorEnabledAt: timestamptz("two_factor_enabled_at"),
  /**
   * The highest TOTP time step accepted so far: a code is accepted only for a later step, so an
   * accepted code can never be used again (RFC 6238 section 5.2), even by parallel requests.
   */
  twoFactorLastStep: integer("two_factor_last_step"),
  /** A key offered for enrolment but not yet confirmed with a code (sealed), and when it was made. */
  twoFactorPendingSecret: text("two_factor_pending_secret"),
  twoFactorPendingAt: timestamptz("two_factor_pending_at"),
  /**
   * Set when the owner (or an admin) deleted the account: from then on it cannot sign in or
   * reset, as if unknown, until the deletion is cancelled (cleared) or the grace period ends
   * and the cleanup erases it (lib/accounts/).
   */
  deletionRequestedAt: timestamptz("deletion_requested_at"),
});

export const accounts = pgTable(
  "accounts",
  {
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    type: text("type").$type<AdapterAccountType>().notNull(),
    provider: text("provider").notNull(),
    providerAccountId: text("provider_account_id").notNull(),
    refresh_token: text("refresh_token"),
    access_token: text("access_token"),
    expires_at: integer("expires_at"),
    token_type: text("token_type"),
    scope: text("scope"),
    id_token: text("id_token"),
    session_state: text("session_state"),
  },
  (t) => [primaryKey({ columns: [t.provider, t.providerAccountId] })],
);

export const sessions = pgTable(
  "sessions",
  {
    /** SHA-256 of the cookie's session token: a database leak yields no usable session. */
    sessionToken: text("session_token_hash").primaryKey(),
    /** Public handle for listing and revoking a session; never the token. */
    id: uuid("id").notNull().unique().defaultRandom(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    expires: timestamptz("expires_at").notNull(),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    lastSeenAt: timestamptz("last_seen_at").notNull().defaultNow(),
    userAgent: text("user_agent"),
    ip: text("ip"),
    /** The user's credentials_version whose password check created this session. */
    credentialsVersion: integer("credentials_version").notNull(),
    /** When this session last had its password entered (its password sign-in, or "Confirm it's you" since); null: never (a passkey sign-in, a device-flow tool). */
    passwordCheckedAt: timestamptz("password_checked_at"),
    /** When this session last passed a second factor (its sign-in, "Confirm it's you" or turning two-factor on); null: password only. */
    secondFactorAt: timestamptz("second_factor_at"),
    /**
     * How the session's token is carried: "browser" (the session cookie), "app" (a bearer
     * token from POST /api/v1/auth/sign-in) or "device" (a bearer token from the device flow,
     * RFC 8628). Every rule that ends sessions ends all three alike.
     */
    kind: text("kind", { enum: ["browser", "app", "device"] })
      .notNull()
      .default("browser"),
    /** The name an app or command-line tool gave for itself ("client_name"); null for a browser. */
    clientName: text("client_name"),
  },
  (t) => [index("sessions_user_id_idx").on(t.userId)],
);

export const verificationTokens = pgTable(
  "verification_tokens",
  {
    identifier: text("identifier").notNull(),
    token: text("token").notNull(),
    expires: timestamptz("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.identifier, t.token] })],
);

/** The columns every emailed single-use link shares (lib/single-use-tokens.ts relies on them). */
const singleUseTokenColumns = () => ({
  id: uuid("id").primaryKey().defaultRandom(),
  userId: text("user_id")
    .notNull()
    .references(() => users.id, { onDelete: "cascade" }),
  /** SHA-256 (hex) of the token in the link; the token itself is never stored. */
  tokenHash: text("token_hash").notNull().unique(),
  createdAt: timestamptz("created_at").notNull().defaultNow(),
  expiresAt: timestamptz("expires_at").notNull(),
  usedAt: timestamptz("used_at"),
});

export const passwordResetTokens = pgTable(
  "password_reset_tokens",
  {
    ...singleUseTokenColumns(),
    requestIp: text("request_ip"),
    requestUserAgent: text("request_user_agent"),
  },
  (t) => [index("password_reset_tokens_user_id_idx").on(t.userId)],
);

/**
 * A pending change of the account's address: the link sent to the new address (confirmed with
 * the account's password). Until it is confirmed, nothing about the account changes.
 */
export const emailChangeTokens = pgTable(
  "email_change_tokens",
  {
    ...singleUseTokenColumns(),
    /** The address asked for: trimmed and lower-cased. */
    newEmail: text("new_email").notNull(),
    requestIp: text("request_ip"),
    requestUserAgent: text("request_user_agent"),
  },
  (t) => [index("email_change_tokens_user_id_idx").on(t.userId)],
);

/** The undo link sent to the old address once a change is confirmed ("This wasn't me", 7 days). */
export const emailChangeUndoTokens = pgTable(
  "email_change_undo_tokens",
  {
    ...singleUseTokenColumns(),
    /** The address to put back. */
    oldEmail: text("old_email").notNull(),
    /** The address the change set; the undo works only while the account still has it. */
    newEmail: text("new_email").notNull(),
  },
  (t) => [index("email_change_undo_tokens_user_id_idx").on(t.userId)],
);

/** The "cancel deletion" link emailed when an account is deleted (ACCOUNT_DELETION_GRACE_DAYS). */
export const accountDeletionCancelTokens = pgTable(
  "account_deletion_cancel_tokens",
  {
    ...singleUseTokenColumns(),
  },
  (t) => [index("account_deletion_cancel_tokens_user_id_idx").on(t.userId)],
);

export const emailVerificationTokens = pgTable(
  "email_verification_tokens",
  {
    ...singleUseTokenColumns(),
    /** The address this token proves, so a later email change cannot be verified by an old link. */
    email: text("email").notNull(),
    requestIp: text("request_ip"),
    requestUserAgent: text("request_user_agent"),
  },
  (t) => [index("email_verification_tokens_user_id_idx").on(t.userId)],
);

/** One-time "This wasn't me" links carried by the password-changed email. */
export const passwordChangeReportTokens = pgTable(
  "password_change_report_tokens",
  {
    ...singleUseTokenColumns(),
    /**
     * users.credentials_version of the change the email reports: the report removes every
     * passkey added at that version or later. Null for links made before passkeys existed.
     */
    reportsCredentialsVersion: integer("reports_credentials_version"),
  },
  (t) => [index("password_change_report_tokens_user_id_idx").on(t.userId)],
);

/** Two-factor recovery codes: only their SHA-256 is stored; each works once. */
export const recoveryCodes = pgTable(
  "recovery_codes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    codeHash: text("code_hash").notNull(),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    usedAt: timestamptz("used_at"),
  },
  (t) => [uniqueIndex("recovery_codes_user_code_idx").on(t.userId, t.codeHash)],
);

/**
 * A sign-in whose password was right, waiting for its second factor. The raw token lives only in
 * a cookie of the browser that gave the password; it expires after a few minutes and is spent
 * by the first second step that passes.
 */
export const twoFactorChallenges = pgTable(
  "two_factor_challenges",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** SHA-256 of the token in the browser's cookie. */
    tokenHash: text("token_hash").notNull().unique(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** users.credentials_version read with the password hash that was verified. */
    credentialsVersion: integer("credentials_version").notNull(),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    expiresAt: timestamptz("expires_at").notNull(),
    usedAt: timestamptz("used_at"),
    ip: text("ip"),
    userAgent: text("user_agent"),
  },
  (t) => [index("two_factor_challenges_user_id_idx").on(t.userId), index("two_factor_challenges_expires_at_idx").on(t.expiresAt)],
);

/**
 * A command-line tool's request to sign in (RFC 8628 device authorization). The tool holds the
 * device code and polls; a signed-in person enters the user code at /device and approves or
 * denies. Both codes are stored only as SHA-256. Approved, it is bound to the approver's
 * credentials version, and the token is issued once, to the first poll after approval.
 */
export const deviceAuthorizations = pgTable(
  "device_authorizations",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** SHA-256 of the device code the tool polls with. */
    deviceCodeHash: text("device_code_hash").notNull().unique(),
    /** SHA-256 of the normalised user code the person types at /device. */
    userCodeHash: text("user_code_hash").notNull().unique(),
    clientName: text("client_name").notNull(),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    expiresAt: timestamptz("expires_at").notNull(),
    /** The least number of seconds between polls; raised by slow_down. */
    intervalSeconds: integer("interval_seconds").notNull().default(5),
    lastPolledAt: timestamptz("last_polled_at"),
    /** pending → approved or denied; approved → issued (the token answer was given, once). */
    status: text("status", { enum: ["pending", "approved", "denied", "issued"] })
      .notNull()
      .default("pending"),
    /** The approver; null until approved or denied. */
    userId: text("user_id").references(() => users.id, { onDelete: "cascade" }),
    /** users.credentials_version at approval: a password change after it voids the approval. */
    credentialsVersion: integer("credentials_version"),
    decidedAt: timestamptz("decided_at"),
    /** Who asked for the code (the tool's side). */
    ip: text("ip"),
    userAgent: text("user_agent"),
  },
  (t) => [index("device_authorizations_expires_at_idx").on(t.expiresAt), index("device_authorizations_user_id_idx").on(t.userId)],
);

/**
 * A WebAuthn credential (passkey) of a user. It counts as a second factor; it never holds
 * private key material, only the public key the authenticator made.
 */
export const passkeys = pgTable(
  "passkeys",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The authenticator's credential ID, base64url. */
    credentialId: text("credential_id").notNull().unique(),
    /** The COSE public key, base64url. */
    publicKey: text("public_key").notNull(),
    /** The authenticator's signature counter; 0 for authenticators that do not count (synced passkeys). */
    counter: bigint("counter", { mode: "number" }).notNull().default(0),
    transports: jsonb("transports").$type<string[]>(),
    /** "singleDevice" (device-bound) or "multiDevice" (synced). */
    deviceType: text("device_type"),
    backedUp: boolean("backed_up"),
    name: text("name").notNull(),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    lastUsedAt: timestamptz("last_used_at"),
    /** users.credentials_version when added: "This wasn't me" removes every passkey added since the version it reports on. */
    addedCredentialsVersion: integer("added_credentials_version").notNull(),
  },
  (t) => [index("passkeys_user_id_idx").on(t.userId)],
);

/**
 * A spent WebAuthn challenge: its SHA-256 and the ceremony it was issued for, written by the
 * first response that uses it (a challenge is signed, not stored, when the ceremony begins:
 * lib/second-factor/webauthn-challenges.ts), kept until the challenge would have expired.
 */
export const webauthnChallenges = pgTable(
  "webauthn_challenges",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** SHA-256 (hex) of the challenge sent to the browser; unique, so a challenge is spent once. */
    challengeHash: text("challenge_hash").notNull().unique(),
    purpose: text("purpose", { enum: ["register", "sign-in", "second-factor", "reset", "confirm"] }).notNull(),
    /** Null for a discoverable sign-in, where the passkey says whose it is. */
    userId: text("user_id").references(() => users.id, { onDelete: "cascade" }),
    /**
     * SHA-256 of what the ceremony is bound to: the session token (register, confirm), the
     * pending sign-in's token (second-factor), the reset token (reset), or a random ceremony
     * cookie (discoverable sign-in). Another browser cannot finish it.
     */
    bindingHash: text("binding_hash").notNull(),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    expiresAt: timestamptz("expires_at").notNull(),
  },
  (t) => [index("webauthn_challenges_expires_at_idx").on(t.expiresAt)],
);

export const rateLimitBuckets = pgTable(
  "rate_limit_buckets",
  {
    /** "<limit name>:<subject>", e.g. "reset-ip:203.0.113.7". Email subjects are HMACed. */
    key: text("key").primaryKey(),
    count: integer("count").notNull(),
    windowStartedAt: timestamptz("window_started_at").notNull(),
    windowEndsAt: timestamptz("window_ends_at").notNull(),
  },
  (t) => [index("rate_limit_buckets_window_ends_at_idx").on(t.windowEndsAt)],
);

export const auditEvents = pgTable(
  "audit_events",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    event: text("event").notNull(),
    userId: text("user_id").references(() => users.id, { onDelete: "set null" }),
    /** HMAC-SHA-256 of the normalised email: correlates events without storing the address. */
    emailHmac: text("email_hmac"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    details: jsonb("details")
      .$type<Record<string, string | number | boolean | null>>()
      .notNull()
      .default(sql`'{}'::jsonb`),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
  },
  (t) => [index("audit_events_user_id_idx").on(t.userId, t.createdAt), index("audit_events_event_idx").on(t.event, t.createdAt)],
);

/**
 * Durable deferred work (lib/jobs): written before the answer goes out, claimed by any
 * instance with FOR UPDATE SKIP LOCKED, reclaimed when its lease runs out.
 */
/**
 * Audit events counted per UTC day and event, for the dashboard: a closed day never changes, so
 * it is counted once (lib/admin/stats.ts) instead of on every render. A row with event
 * "_counted" marks a day as counted even when it had no events.
 */
export const auditDailyCounts = pgTable(
  "audit_daily_counts",
  {
    day: date("day", { mode: "string" }).notNull(),
    event: text("event").notNull(),
    count: integer("count").notNull(),
  },
  (t) => [primaryKey({ columns: [t.day, t.event] })],
);

export const jobs = pgTable(
  "jobs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    kind: text("kind").notNull(),
    /** What the work needs. Secrets only sealed (lib/jobs/seal.ts); null once the job has ended. */
    payload: jsonb("payload").$type<Record<string, unknown>>(),
    status: text("status").$type<"pending" | "running" | "done" | "failed">().notNull().default("pending"),
    runAt: timestamptz("run_at").notNull().defaultNow(),
    /** Claims so far, including one cut short by a dead instance. */
    attempts: integer("attempts").notNull().default(0),
    /** Random per claim: only the claimant may save, finish or retry the job. */
    claimId: uuid("claim_id"),
    lockedUntil: timestamptz("locked_until"),
    lastError: text("last_error"),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    finishedAt: timestamptz("finished_at"),
  },
  (t) => [index("jobs_status_run_at_idx").on(t.status, t.runAt), index("jobs_finished_at_idx").on(t.finishedAt)],
);

/** One row per paced resource ("mail"): the next free send slot, advanced atomically by every instance. */
export const sendPace = pgTable("send_pace", {
  name: text("name").primaryKey(),
  nextSlotAt: timestamptz("next_slot_at").notNull(),
});

export type User = typeof users.$inferSelect;
export type Session = typeof sessions.$inferSelect;
export type PasswordResetToken = typeof passwordResetTokens.$inferSelect;
export type EmailVerificationToken = typeof emailVerificationTokens.$inferSelect;
export type AuditEvent = typeof auditEvents.$inferSelect;
export type Job = typeof jobs.$inferSelect;
export type RecoveryCode = typeof recoveryCodes.$inferSelect;
export type TwoFactorChallenge = typeof twoFactorChallenges.$inferSelect;
export type Passkey = typeof passkeys.$inferSelect;
export type WebauthnChallenge = typeof webauthnChallenges.$inferSelect;
