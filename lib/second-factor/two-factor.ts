import "server-only";
import { createHash, randomBytes, randomInt } from "node:crypto";
import { and, count, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import * as OTPAuth from "otpauth";
import QRCode from "qrcode";
import type { Database, Transaction } from "@/db/client";
import { recoveryCodes, twoFactorChallenges, users } from "@/db/schema";
import { audit, auditThrottled } from "../audit";
import type { SessionGrant } from "../auth/sessions";
import type { RequestContext } from "../client-ip";
import { enqueueJob } from "../jobs/queue";
import { seal, unsealWithAge } from "../jobs/seal";
import type { Schedule } from "../jobs/definition";
import { twoFactorNoticeJob, type TwoFactorChange } from "./notify";
import { verifyPassword } from "../password-hashing";
import { consumeRateLimit, refundRateLimit, type RateLimit } from "../rate-limit";
import { hashToken, isWellFormedToken } from "../tokens";
import { lockUser } from "../user-lock";

// TOTP as every authenticator app expects it (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps),
// computed by otpauth. One step either side is accepted for clock drift, and only a step later
// than the last one accepted, so a code that worked can never be replayed.
const TOTP_SETTINGS = { algorithm: "SHA1", digits: 6, period: 30 } as const;
const ISSUER = "Rekey";
/** Clock drift tolerated, in steps either side. */
const TOTP_WINDOW = 1;

/**
 * Second-factor codes per account: 5 per 15 minutes, counted before the code is checked (an
 * atomic upsert, so parallel guesses cannot exceed it) and given back when the code was right.
 * One budget for sign-in, reset, enrolment and turning it off.
 */
export const SECOND_FACTOR_LIMIT: RateLimit = { name: "two-factor", max: 5, windowSeconds: 15 * 60 };

/** How long the second step of a sign-in waits after the password was right. */
export const SIGN_IN_CHALLENGE_TTL_SECONDS = 5 * 60;

/** How long a key shown for enrolment may still be confirmed. */
export const ENROLMENT_TTL_MINUTES = 30;

export const RECOVERY_CODE_COUNT = 10;
// 16 characters of a 32-letter alphabet without 0/O, 1/I/L: 80 bits, printed as 4 groups of 4.
// That much entropy makes a fast hash (SHA-256) safe to store, as for link tokens.
const RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const RECOVERY_CODE_LENGTH = 16;

// --- TOTP ---------------------------------------------------------------------------------

function totp(key: string, email = ""): OTPAuth.TOTP {
  return new OTPAuth.TOTP({ ...TOTP_SETTINGS, issuer: ISSUER, label: email, secret: OTPAuth.Secret.fromBase32(key) });
}

/** A fresh 160-bit TOTP key (RFC 4226's recommended length), in base32. */
export function newTotpKey(): string {
  return new OTPAuth.Secret({ size: 20 }).base32;
}

/** The key grouped in fours for typing into an app by hand ("Setup key"). */
export function formatSetupKey(key: string): string {
  return key.replace(/(.{4})/g, "$1 ").trim();
}

/** The otpauth:// URI an authenticator app reads from the QR code. */
export function totpUri(key: string, email: string): string {
  return totp(key, email).toString();
}

/** The code for `key` at `timestampMs` (tests; and nothing else in the app). */
export function totpCode(key: string, timestampMs: number = Date.now()): string {
  return totp(key).generate({ timestamp: timestampMs });
}

/** The time step `code` belongs to, within the drift window around `timestampMs`; null when none. */
export function matchingTotpStep(key: string, code: string, timestampMs: number = Date.now()): number | null {
  const generator = totp(key);
  const delta = generator.validate({ token: code, timestamp: timestampMs, window: TOTP_WINDOW });
  if (delta === null) return null;
  return generator.counter({ timestamp: timestampMs }) + delta;
}

/** The otpauth URI as an SVG QR code, drawn on the server (no script, nothing fetched). */
export function qrCodeSvg(uri: string): Promise<string> {
  return QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
}

// --- Recovery codes -------------------------------------------------------------------------

/** Ten fresh codes as shown to the user, "ABCD-EFGH-JKMN-PQRS". */
export function generateRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    let code = "";
    for (let i = 0; i < RECOVERY_CODE_LENGTH; i++) code += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
    return code.replace(/(.{4})(?!$)/g, "$1-");
  });
}

/** A typed recovery code in canonical form (case, spaces and dashes ignored), or null if it cannot be one. */
export function normalizeRecoveryCode(input: string): string | null {
  const code = input.toUpperCase().replace(/[\s-]+/g, "");
  if (code.length !== RECOVERY_CODE_LENGTH) return null;
  for (const c of code) if (!RECOVERY_ALPHABET.includes(c)) return null;
  return code;
}

/** What the database keeps of a recovery code: SHA-256 of its canonical form. */
export function hashRecoveryCode(code: string): string {
  const canonical = normalizeRecoveryCode(code);
  if (!canonical) throw new Error("not a recovery code");
  return createHash("sha256").update(`rekey:recovery-code:${canonical}`).digest("hex");
}

async function storeRecoveryCodes(tx: Transaction, userId: string): Promise<string[]> {
  const codes = generateRecoveryCodes();
  await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
  await tx.insert(recoveryCodes).values(codes.map((code) => ({ userId, codeHash: hashRecoveryCode(code) })));
  return codes;
}

async function recoveryCodesLeft(db: Database | Transaction, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)));
  return row?.n ?? 0;
}

// --- Notifications --------------------------------------------------------------------------

export type { TwoFactorChange };

async function notify(
  db: Database,
  tx: Transaction,
  schedule: Schedule,
  input: { userId: string; email: string; change: TwoFactorChange; recoveryCodesLeft?: number } & RequestContext,
): Promise<void> {
  await enqueueJob(
    db,
    twoFactorNoticeJob,
    {
      userId: input.userId,
      email: input.email,
      change: input.change,
      recoveryCodesLeft: input.recoveryCodesLeft ?? null,
      at: new Date().toISOString(),
      ip: input.ip,
      userAgent: input.userAgent,
    },
    schedule,
    tx,
  );
}

// --- State and enrolment --------------------------------------------------------------------

export interface TwoFactorState {
  enabled: boolean;
  enabledAt: Date | null;
  recoveryCodesLeft: number;
}

/** Whether the user has a second factor, since when, and how many recovery codes are unused. */
export async function twoFactorState(db: Database, userId: string): Promise<TwoFactorState> {
  const user = await db.query.users.findFirst({ where: eq(users.id, userId), columns: { twoFactorEnabledAt: true } });
  const enabledAt = user?.twoFactorEnabledAt ?? null;
  return { enabled: enabledAt !== null, enabledAt, recoveryCodesLeft: enabledAt ? await recoveryCodesLeft(db, userId) : 0 };
}

/** True when the user must pass a second factor (sign-in, reset). */
export async function hasTwoFactor(db: Database | Transaction, userId: string): Promise<boolean> {
  const user = await db.query.users.findFirst({ where: eq(users.id, userId), columns: { twoFactorEnabledAt: true } });
  return Boolean(user?.twoFactorEnabledAt);
}

export type EnrolmentOffer =
  | { ok: true; setupKey: string; uri: string; qrSvg: string }
  | { ok: false; code: "ALREADY_ENABLED" };

/**
 * The key to enrol, with its QR code: the pending key when one was offered within
 * ENROLMENT_TTL_MINUTES (a reload shows the same key), a new one otherwise.
 */
export async function offerEnrolment(db: Database, user: { id: string; email: string }): Promise<EnrolmentOffer> {
  const row = await db.query.users.findFirst({
    where: eq(users.id, user.id),
    columns: { twoFactorEnabledAt: true, twoFactorPendingSecret: true, twoFactorPendingAt: true },
  });
  if (!row) throw new Error(`no user ${user.id}`);
  if (row.twoFactorEnabledAt) return { ok: false, code: "ALREADY_ENABLED" };
  let key: string | null = null;
  const fresh = row.twoFactorPendingAt && Date.now() - row.twoFactorPendingAt.getTime() < (ENROLMENT_TTL_MINUTES - 5) * 60_000;
  if (row.twoFactorPendingSecret && fresh) {
    try {
      key = unsealWithAge(row.twoFactorPendingSecret, "two-factor").plain;
    } catch {
      key = null;
    }
  }
  if (!key) {
    key = newTotpKey();
    await db
      .update(users)
      .set({ twoFactorPendingSecret: seal(key, "two-factor"), twoFactorPendingAt: sql`now()` })
      .where(eq(users.id, user.id));
  }
  const uri = totpUri(key, user.email);
  return { ok: true, setupKey: formatSetupKey(key), uri, qrSvg: await qrCodeSvg(uri) };
}

export type CodeRefusal =
  | { ok: false; code: "INVALID_CODE" }
  | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

export type ConfirmEnrolmentResult =
  | { ok: true; recoveryCodes: string[] }
  | CodeRefusal
  | { ok: false; code: "ENROLMENT_EXPIRED" | "ALREADY_ENABLED" };

/**
 * Turns two-factor authentication on once `code` proves the app holds the offered key; returns
 * the recovery codes, which exist in the clear only in this answer.
 */
export async function confirmEnrolment(
  db: Database,
  input: { userId: string; code: string } & RequestContext,
  schedule: Schedule,
): Promise<ConfirmEnrolmentResult> {
  const budget = await countSecondFactorAttempt(db, input.userId, input);
  if (!budget.ok) return budget;
  const outcome = await db.transaction(async (tx): Promise<ConfirmEnrolmentResult> => {
    await lockUser(tx, input.userId);
    const row = await tx.query.users.findFirst({
      where: eq(users.id, input.userId),
      columns: { email: true, twoFactorEnabledAt: true, twoFactorPendingSecret: true, twoFactorPendingAt: true },
    });
    if (!row) throw new Error(`no user ${input.userId}`);
    if (row.twoFactorEnabledAt) return { ok: false, code: "ALREADY_ENABLED" };
    const expired = !row.twoFactorPendingSecret || !row.twoFactorPendingAt || Date.now() - row.twoFactorPendingAt.getTime() > ENROLMENT_TTL_MINUTES * 60_000;
    if (expired) return { ok: false, code: "ENROLMENT_EXPIRED" };
    const key = unsealWithAge(row.twoFactorPendingSecret!, "two-factor").plain;
    const step = matchingTotpStep(key, input.code);
    if (step === null) return { ok: false, code: "INVALID_CODE" };
    await tx
      .update(users)
      .set({
        twoFactorSecret: seal(key, "two-factor"),
        twoFactorEnabledAt: sql`now()`,
        twoFactorLastStep: step,
        twoFactorPendingSecret: null,
        twoFactorPendingAt: null,
      })
      .where(eq(users.id, input.userId));
    const codes = await storeRecoveryCodes(tx, input.userId);
    await audit(tx, { event: "two_factor.enabled", userId: input.userId, ip: input.ip, userAgent: input.userAgent });
    await notify(db, tx, schedule, { userId: input.userId, email: row.email, change: "enabled", ip: input.ip, userAgent: input.userAgent });
    return { ok: true, recoveryCodes: codes };
  });
  await settleAttempt(db, input.userId, outcome, input);
  return outcome;
}

/** Replaces every recovery code of a user with two-factor on; returns the new ones (shown once). */
export async function replaceRecoveryCodes(
  db: Database,
  input: { userId: string } & RequestContext,
): Promise<{ ok: true; recoveryCodes: string[] } | { ok: false; code: "NOT_ENABLED" }> {
  return db.transaction(async (tx) => {
    await lockUser(tx, input.userId);
    if (!(await hasTwoFactor(tx, input.userId))) return { ok: false, code: "NOT_ENABLED" } as const;
    const codes = await storeRecoveryCodes(tx, input.userId);
    await audit(tx, { event: "two_factor.recovery_codes_replaced", userId: input.userId, ip: input.ip, userAgent: input.userAgent });
    return { ok: true, recoveryCodes: codes } as const;
  });
}

export type DisableTwoFactorResult = { ok: true } | CodeRefusal | { ok: false; code: "WRONG_PASSWORD" | "NOT_ENABLED" };

/** Turns two-factor authentication off: needs the password and a current code (or a recovery code). */
export async function disableTwoFactor(
  db: Database,
  input: { userId: string; password: string } & SecondFactorInput & RequestContext,
  schedule: Schedule,
): Promise<DisableTwoFactorResult> {
  const user = await db.query.users.findFirst({ where: eq(users.id, input.userId), columns: { passwordHash: true, twoFactorEnabledAt: true } });
  if (!user?.twoFactorEnabledAt) return { ok: false, code: "NOT_ENABLED" };
  const budget = await countSecondFactorAttempt(db, input.userId, input);
  if (!budget.ok) return budget;
  // The password is checked under the same budget: both secrets are needed, and a wrong one of
  // either costs an attempt.
  if (!user.passwordHash || !(await verifyPassword(user.passwordHash, input.password))) {
    await audit(db, { event: "two_factor.code_failed", userId: input.userId, ip: input.ip, userAgent: input.userAgent, details: { reason: "wrong_password" } });
    return { ok: false, code: "WRONG_PASSWORD" };
  }
  const outcome = await db.transaction(async (tx): Promise<DisableTwoFactorResult> => {
    await lockUser(tx, input.userId);
    const checked = await checkSecondFactor(tx, input.userId, input);
    if (!checked.ok) return checked.code === "NOT_ENABLED" ? { ok: false, code: "NOT_ENABLED" } : { ok: false, code: "INVALID_CODE" };
    const email = await turnOff(tx, input.userId);
    await audit(tx, { event: "two_factor.disabled", userId: input.userId, ip: input.ip, userAgent: input.userAgent, details: { method: checked.method } });
    await notify(db, tx, schedule, { userId: input.userId, email, change: "disabled", ip: input.ip, userAgent: input.userAgent });
    return { ok: true };
  });
  await settleAttempt(db, input.userId, outcome, input);
  return outcome;
}

/**
 * An administrator removes the second factor of a user who lost both the device and the
 * recovery codes: audited with the admin's id, and the user is emailed.
 */
export async function removeTwoFactorByAdmin(
  db: Database,
  input: { userId: string; adminId: string } & RequestContext,
  schedule: Schedule,
): Promise<{ ok: true } | { ok: false; code: "NOT_ENABLED" }> {
  return db.transaction(async (tx) => {
    if (!(await lockUser(tx, input.userId))) return { ok: false, code: "NOT_ENABLED" } as const;
    if (!(await hasTwoFactor(tx, input.userId))) return { ok: false, code: "NOT_ENABLED" } as const;
    const email = await turnOff(tx, input.userId);
    await audit(tx, { event: "admin.two_factor_removed", userId: input.userId, ip: input.ip, userAgent: input.userAgent, details: { admin_id: input.adminId } });
    await notify(db, tx, schedule, { userId: input.userId, email, change: "removed_by_admin", ip: input.ip, userAgent: input.userAgent });
    return { ok: true } as const;
  });
}

async function turnOff(tx: Transaction, userId: string): Promise<string> {
  const [row] = await tx
    .update(users)
    .set({ twoFactorSecret: null, twoFactorEnabledAt: null, twoFactorLastStep: null, twoFactorPendingSecret: null, twoFactorPendingAt: null })
    .where(eq(users.id, userId))
    .returning({ email: users.email });
  await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
  // A pending sign-in must not finish against a factor that no longer exists.
  await tx.update(twoFactorChallenges).set({ usedAt: sql`now()` }).where(and(eq(twoFactorChallenges.userId, userId), isNull(twoFactorChallenges.usedAt)));
  if (!row) throw new Error(`no user ${userId}`);
  return row.email;
}

// --- Checking a second factor ---------------------------------------------------------------

/** A code from the authenticator app (`otp`) or one recovery code (`recoveryCode`). */
export interface SecondFactorInput {
  otp?: string | null;
  recoveryCode?: string | null;
}

export type SecondFactorCheck =
  | { ok: true; method: "totp" | "recovery_code"; recoveryCodesLeft?: number }
  | { ok: false; code: "INVALID_CODE" | "NOT_ENABLED" };

/**
 * Spends one attempt of the user's second-factor budget; the caller checks the code only when
 * it is allowed, and calls `settleAttempt` afterwards (a right code gives the attempt back).
 */
export async function countSecondFactorAttempt(
  db: Database,
  userId: string,
  context: RequestContext,
): Promise<{ ok: true } | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number }> {
  const counted = await consumeRateLimit(db, SECOND_FACTOR_LIMIT, userId);
  if (counted.allowed) return { ok: true };
  // Once per window (the first refusal), as every other limit is audited.
  await auditThrottled(db, { event: "two_factor.throttled", userId, ip: context.ip, userAgent: context.userAgent }, counted.refusedInWindow);
  return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: counted.retryAfterSeconds };
}

/**
 * After a counted attempt: a wrong code is audited and stays counted; anything else (a right
 * code, or a refusal that checked no code) gives the attempt back.
 */
export async function settleAttempt(db: Database, userId: string, outcome: { ok: boolean; code?: string }, context: RequestContext): Promise<void> {
  if (!outcome.ok && outcome.code === "INVALID_CODE") {
    await audit(db, { event: "two_factor.code_failed", userId, ip: context.ip, userAgent: context.userAgent });
    return;
  }
  await refundRateLimit(db, SECOND_FACTOR_LIMIT, userId);
}

/**
 * Checks a TOTP code or a recovery code for `userId` and spends it: a TOTP step is accepted
 * only if later than the last accepted one, a recovery code only if unused, each by one
 * conditional UPDATE, so that of parallel requests with one code exactly one passes. Run it in
 * the transaction of the change it allows (its spending rolls back with that change). Counts
 * nothing: call `countSecondFactorAttempt` first.
 */
export async function checkSecondFactor(
  db: Database | Transaction,
  userId: string,
  input: SecondFactorInput,
  timestampMs: number = Date.now(),
): Promise<SecondFactorCheck> {
  const user = await db.query.users.findFirst({ where: eq(users.id, userId), columns: { twoFactorSecret: true, twoFactorEnabledAt: true } });
  if (!user?.twoFactorSecret || !user.twoFactorEnabledAt) return { ok: false, code: "NOT_ENABLED" };

  if (input.otp) {
    const opened = unsealWithAge(user.twoFactorSecret, "two-factor");
    const step = matchingTotpStep(opened.plain, input.otp.replace(/\s+/g, ""), timestampMs);
    if (step === null) return { ok: false, code: "INVALID_CODE" };
    const [spent] = await db
      .update(users)
      .set({
        twoFactorLastStep: step,
        // Sealed under AUTH_SECRET_PREVIOUS: seal it again under the current secret.
        ...(opened.stale ? { twoFactorSecret: seal(opened.plain, "two-factor") } : {}),
      })
      .where(and(eq(users.id, userId), or(isNull(users.twoFactorLastStep), lt(users.twoFactorLastStep, step))))
      .returning({ id: users.id });
    return spent ? { ok: true, method: "totp" } : { ok: false, code: "INVALID_CODE" };
  }

  if (input.recoveryCode) {
    const canonical = normalizeRecoveryCode(input.recoveryCode);
    if (!canonical) return { ok: false, code: "INVALID_CODE" };
    const [spent] = await db
      .update(recoveryCodes)
      .set({ usedAt: sql`now()` })
      .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, hashRecoveryCode(canonical)), isNull(recoveryCodes.usedAt)))
      .returning({ id: recoveryCodes.id });
    if (!spent) return { ok: false, code: "INVALID_CODE" };
    return { ok: true, method: "recovery_code", recoveryCodesLeft: await recoveryCodesLeft(db, userId) };
  }
  return { ok: false, code: "INVALID_CODE" };
}

/**
 * After a recovery code was spent in `tx`: audit it and email the user how many are left.
 * Call inside the transaction that spent it.
 */
export async function recordRecoveryCodeUse(
  db: Database,
  tx: Transaction,
  schedule: Schedule,
  input: { userId: string; recoveryCodesLeft: number } & RequestContext,
): Promise<void> {
  const user = await tx.query.users.findFirst({ where: eq(users.id, input.userId), columns: { email: true } });
  if (!user) return;
  await audit(tx, { event: "two_factor.recovery_code_used", userId: input.userId, ip: input.ip, userAgent: input.userAgent, details: { left: input.recoveryCodesLeft } });
  await notify(db, tx, schedule, { userId: input.userId, email: user.email, change: "recovery_code_used", recoveryCodesLeft: input.recoveryCodesLeft, ip: input.ip, userAgent: input.userAgent });
}

// --- The second step of a sign-in -----------------------------------------------------------

/**
 * Records a sign-in whose password was right for an account with a second factor; returns
 * the raw token for the browser's cookie (only its SHA-256 is stored). No session exists yet.
 */
export async function startSignInChallenge(
  db: Database,
  input: { userId: string; credentialsVersion: number } & RequestContext,
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString("base64url");
  const [row] = await db
    .insert(twoFactorChallenges)
    .values({
      tokenHash: hashToken(token),
      userId: input.userId,
      credentialsVersion: input.credentialsVersion,
      expiresAt: sql`now() + make_interval(secs => ${SIGN_IN_CHALLENGE_TTL_SECONDS})`,
      ip: input.ip,
      userAgent: input.userAgent,
    })
    .returning({ expiresAt: twoFactorChallenges.expiresAt });
  if (!row) throw new Error("challenge insert returned no row");
  return { token, expiresAt: row.expiresAt };
}

/** The pending sign-in a challenge cookie belongs to, while it may still be completed; else null. */
export async function findSignInChallenge(db: Database, token: string): Promise<{ userId: string; expiresAt: Date } | null> {
  if (!isWellFormedToken(token)) return null;
  const row = await db.query.twoFactorChallenges.findFirst({
    where: and(eq(twoFactorChallenges.tokenHash, hashToken(token)), isNull(twoFactorChallenges.usedAt), gt(twoFactorChallenges.expiresAt, sql`now()`)),
    columns: { userId: true, expiresAt: true },
  });
  return row ?? null;
}

export type SignInChallengeResult =
  | { ok: true; grant: SessionGrant; method: "totp" | "recovery_code" }
  | CodeRefusal
  | { ok: false; code: "CHALLENGE_EXPIRED" };

/**
 * The second step of a sign-in: the challenge must be unused and unexpired, the code right
 * (within the account's budget). On success the challenge is spent with the code, and the
 * caller stores a session for the returned grant (it carries the credentials version of the
 * password check, so a password change in between still wins).
 */
export async function passSignInChallenge(
  db: Database,
  input: { token: string } & SecondFactorInput & RequestContext,
  schedule: Schedule,
): Promise<SignInChallengeResult> {
  const challenge = await findSignInChallenge(db, input.token);
  if (!challenge) return { ok: false, code: "CHALLENGE_EXPIRED" };
  const budget = await countSecondFactorAttempt(db, challenge.userId, input);
  if (!budget.ok) return budget;
  const outcome = await db.transaction(async (tx): Promise<SignInChallengeResult> => {
    const [row] = await tx
      .select({ userId: twoFactorChallenges.userId, credentialsVersion: twoFactorChallenges.credentialsVersion })
      .from(twoFactorChallenges)
      .where(and(eq(twoFactorChallenges.tokenHash, hashToken(input.token)), isNull(twoFactorChallenges.usedAt), gt(twoFactorChallenges.expiresAt, sql`now()`)))
      .for("update");
    if (!row) return { ok: false, code: "CHALLENGE_EXPIRED" };
    const checked = await checkSecondFactor(tx, row.userId, input);
    if (!checked.ok) return checked.code === "NOT_ENABLED" ? { ok: false, code: "CHALLENGE_EXPIRED" } : { ok: false, code: "INVALID_CODE" };
    await tx.update(twoFactorChallenges).set({ usedAt: sql`now()` }).where(eq(twoFactorChallenges.tokenHash, hashToken(input.token)));
    if (checked.method === "recovery_code") {
      await recordRecoveryCodeUse(db, tx, schedule, { userId: row.userId, recoveryCodesLeft: checked.recoveryCodesLeft ?? 0, ip: input.ip, userAgent: input.userAgent });
    }
    return {
      ok: true,
      method: checked.method,
      grant: { userId: row.userId, credentialsVersion: row.credentialsVersion, ip: input.ip, userAgent: input.userAgent, secondFactor: true },
    };
  });
  await settleAttempt(db, challenge.userId, outcome, input);
  return outcome;
}

/** Deletes sign-in challenges that ended more than a day ago (the cleanup cron). */
export async function deleteEndedSignInChallenges(db: Database): Promise<number> {
  const deleted = await db
    .delete(twoFactorChallenges)
    .where(lt(twoFactorChallenges.expiresAt, sql`now() - interval '1 day'`))
    .returning({ id: twoFactorChallenges.id });
  return deleted.length;
}
