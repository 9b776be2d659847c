import "server-only";
import { and, eq, sql, type SQL } from "drizzle-orm";
import type { Database, Transaction } from "@/db/client";
import { sessions, users } from "@/db/schema";
import { audit, auditThrottled, type AuditEntry, type AuditEventName } from "../audit";
import type { RequestContext } from "../client-ip";
import { env } from "../env";
import type { Schedule } from "../jobs/definition";
import { verifyPassword } from "../password-hashing";
import { consumeRateLimit, refundRateLimit, type RateLimit } from "../rate-limit";
import {
  checkSecondFactor,
  countSecondFactorAttempt,
  recordRecoveryCodeUse,
  settleAttempt,
  type SecondFactorInput,
} from "../second-factor/check";
import { checkPasskey } from "../second-factor/passkey-factor";
import { hasSecondFactorSql, secondFactorsOf } from "../second-factor/second-factors";
import { lockUser } from "../user-lock";
import { recogniseDevice } from "./device-token";
import { isLive } from "./sessions";

// "Confirm it's you": every change of a factor or of the account needs the password, plus a
// second factor (a code, or a passkey) when the account has one, entered on this very session
// within the last REAUTH_MINUTES. A password sign-in counts (a two-factor sign-in passed the
// code); a passkey sign-in passed a second factor but checked no password. What a session has
// proved lives on its row: password_checked_at and second_factor_at.

/**
 * Wrong passwords at "Confirm it's you" per account: 5 per 15 minutes, counted before the
 * argon2 check (an atomic upsert, so parallel guesses cannot exceed it) and given back when the
 * password was right. A stolen cookie must not become an unlimited password oracle.
 */
export const CONFIRM_IDENTITY_LIMIT: RateLimit = { name: "confirm-identity", max: 5, windowSeconds: 15 * 60 };

/** How long a confirmation lasts, in minutes (REAUTH_MINUTES). */
export function reauthMinutes(): number {
  return env().REAUTH_MINUTES;
}

/** The session a confirmation is about: this browser's (or app's) own session row. */
export interface ConfirmingSession {
  userId: string;
  sessionId: string;
}

/**
 * What the person typed: the password and, with two-factor on, one code; and this browser's
 * device cookie, if any: a browser that signed in to the account before spends its own code
 * budget, never the one a guesser who knows the password can keep spent.
 */
export type ConfirmIdentityInput = {
  password: string;
  deviceCookie?: string | null;
  /** A passkey's assertion instead of a code, with what its ceremony was bound to (this session's token). */
  passkey?: { response: unknown; binding: string } | null;
} & SecondFactorInput;

export type ConfirmIdentityResult =
  | { ok: true; method: "password" | "totp" | "recovery_code" | "passkey" }
  | { ok: false; code: "WRONG_PASSWORD" | "SECOND_FACTOR_REQUIRED" | "INVALID_CODE" | "SESSION_ENDED" }
  | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

/** The answer of a change that needs a recent confirmation and had none. */
export type ConfirmationNeeded = { ok: false; code: "CONFIRMATION_NEEDED" };

/** Audit events to write instead of the default ones (the admin area keeps its own names). */
export interface ConfirmationAudit {
  confirmed: AuditEventName;
  failed: AuditEventName;
  details?: AuditEntry["details"];
}

const DEFAULT_AUDIT: ConfirmationAudit = { confirmed: "identity.confirmed", failed: "identity.confirm_failed" };

/**
 * Whether `session` is confirmed now: live, for the current credentials, its password entered
 * within REAUTH_MINUTES and, when the account has two-factor on, a second factor passed within
 * them too. Measured by the database clock, like every session lifetime.
 */
export async function isIdentityConfirmed(db: Database | Transaction, session: ConfirmingSession): Promise<boolean> {
  return confirmedWhere(db, and(eq(sessions.id, session.sessionId), eq(sessions.userId, session.userId))!);
}

/** isIdentityConfirmed for a session known by its id alone (the admin area's). */
export async function isSessionConfirmed(db: Database | Transaction, sessionId: string): Promise<boolean> {
  return confirmedWhere(db, eq(sessions.id, sessionId));
}

async function confirmedWhere(db: Database | Transaction, which: SQL): Promise<boolean> {
  const window = sql`now() - make_interval(mins => ${reauthMinutes()})`;
  const [row] = await db
    .select({
      // No password check on record (a passkey sign-in, a device-flow tool): not confirmed.
      confirmed: sql<boolean>`coalesce(${sessions.passwordCheckedAt} > ${window}, false)
        and (not ${hasSecondFactorSql()} or coalesce(${sessions.secondFactorAt} > ${window}, false))`,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(which, isLive()));
  return row?.confirmed === true;
}

/** Thrown inside the transaction to roll a spent code back when the session cannot be stamped. */
class SessionEnded extends Error {}

/**
 * "Confirm it's you": checks the password (counted first against CONFIRM_IDENTITY_LIMIT), then,
 * with two-factor on, the code through the account's second-factor budget, and stamps this
 * session as confirmed. Audited either way; a recovery code spent here is emailed like any
 * other. Only a live session of the current credentials is stamped (else SESSION_ENDED, and
 * the code stays unspent).
 */
export async function confirmIdentity(
  db: Database,
  input: ConfirmingSession & ConfirmIdentityInput & RequestContext,
  schedule: Schedule,
  events: ConfirmationAudit = DEFAULT_AUDIT,
): Promise<ConfirmIdentityResult> {
  const { userId } = input;
  const context = { userId, ip: input.ip, userAgent: input.userAgent };
  const user = await db.query.users.findFirst({
    where: eq(users.id, userId),
    columns: { email: true, passwordHash: true, credentialsVersion: true },
  });
  if (!user) return { ok: false, code: "SESSION_ENDED" };
  const factors = await secondFactorsOf(db, userId);
  const withCode = factors.totp || factors.passkey;
  const code: SecondFactorInput = { otp: input.otp || null, recoveryCode: input.recoveryCode || null };
  const passkey = factors.passkey ? (input.passkey ?? null) : null;
  // Asked before the password is looked at: the answer must not say whether the password was right.
  if (withCode && !code.otp && !code.recoveryCode && !passkey) return { ok: false, code: "SECOND_FACTOR_REQUIRED" };

  // Counted before the argon2 check, so parallel wrong guesses cannot pass the limit together.
  const counted = await consumeRateLimit(db, CONFIRM_IDENTITY_LIMIT, userId);
  if (!counted.allowed) {
    await auditThrottled(db, { event: "identity.confirm_throttled", ...context }, counted.refusedInWindow);
    return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: counted.retryAfterSeconds };
  }
  if (!user.passwordHash || !(await verifyPassword(user.passwordHash, input.password))) {
    await audit(db, { event: events.failed, ...context, details: { ...events.details, reason: "wrong_password" } });
    return { ok: false, code: "WRONG_PASSWORD" };
  }
  await refundRateLimit(db, CONFIRM_IDENTITY_LIMIT, userId);

  const stamp = (tx: Transaction, secondFactor: boolean) =>
    tx
      .update(sessions)
      .set({ passwordCheckedAt: sql`now()`, ...(secondFactor ? { secondFactorAt: sql`now()` } : {}) })
      .where(and(eq(sessions.id, input.sessionId), eq(sessions.userId, userId), eq(sessions.credentialsVersion, user.credentialsVersion)))
      .returning({ id: sessions.id });

  if (!withCode) {
    const stamped = await db.transaction(async (tx) => {
      const [row] = await stamp(tx, false);
      if (row) await audit(tx, { event: events.confirmed, ...context, details: { ...events.details, method: "password" } });
      return Boolean(row);
    });
    return stamped ? { ok: true, method: "password" } : { ok: false, code: "SESSION_ENDED" };
  }

  const budgetOptions = { device: recogniseDevice(input.deviceCookie, user.email)?.nonce ?? null, schedule };
  const budget = await countSecondFactorAttempt(db, userId, input, budgetOptions);
  if (!budget.ok) return budget;
  let outcome: ConfirmIdentityResult;
  try {
    outcome = await db.transaction(async (tx): Promise<ConfirmIdentityResult> => {
      await lockUser(tx, userId);
      const checked = passkey
        ? await checkPasskey(tx, { purpose: "confirm", binding: passkey.binding, userId, response: passkey.response })
        : await checkSecondFactor(tx, userId, code);
      // NOT_ENABLED: turned off since the read above; the password alone then confirmed nothing yet.
      if (!checked.ok) return { ok: false, code: checked.code === "NOT_ENABLED" ? "SESSION_ENDED" : "INVALID_CODE" };
      const [row] = await stamp(tx, true);
      if (!row) throw new SessionEnded();
      await audit(tx, { event: events.confirmed, ...context, details: { ...events.details, method: checked.method } });
      if (checked.method === "recovery_code") {
        await recordRecoveryCodeUse(db, tx, schedule, {
          userId,
          recoveryCodesLeft: checked.recoveryCodesLeft ?? 0,
          ip: input.ip,
          userAgent: input.userAgent,
        });
      }
      return { ok: true, method: checked.method };
    });
  } catch (error) {
    if (!(error instanceof SessionEnded)) throw error;
    outcome = { ok: false, code: "SESSION_ENDED" };
  }
  await settleAttempt(db, userId, outcome, input, budgetOptions);
  if (!outcome.ok && outcome.code === "INVALID_CODE") {
    await audit(db, { event: events.failed, ...context, details: { ...events.details, reason: "wrong_code" } });
  }
  return outcome;
}
