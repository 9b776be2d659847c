import "server-only";
import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import { queryRows, type Database, type Transaction } from "@/db/client";
import { recoveryCodes, users } from "@/db/schema";
import { audit, auditThrottled } from "../audit";
import { repeatedFailuresJobSql } from "../auth/owner-alerts";
import type { RequestContext } from "../client-ip";
import type { Schedule } from "../jobs/definition";
import { seal, unsealWithAge } from "../jobs/seal";
import { countHitSql, hitOutcome, refundRateLimit, type RateLimit } from "../rate-limit";
import { enqueueTwoFactorNotice } from "./notify";
import { hashRecoveryCode, normalizeRecoveryCode, recoveryCodesLeft } from "./recovery-codes";
import { hasSecondFactorSql } from "./second-factors";
import { matchingTotpStep } from "./totp";

/**
 * Second-factor codes per account: 5 per 15 minutes, counted before the code is checked (an
 * atomic upsert, so parallel guesses cannot exceed it) and given back when the code was right.
 * One budget for sign-in, reset, enrolment and turning it off.
 */
export const SECOND_FACTOR_LIMIT: RateLimit = { name: "two-factor", max: 5, windowSeconds: 15 * 60 };

/**
 * A recognised device's own code budget (per account and device token nonce): the same size,
 * and no one else's wrong codes spend it, so the owner's right code passes while a guesser
 * keeps the account's shared budget spent.
 */
export const DEVICE_SECOND_FACTOR_LIMIT: RateLimit = { name: "two-factor-device", max: 5, windowSeconds: 15 * 60 };

/** The owner hears about repeated wrong codes at most once an hour, whichever budget was crossed. */
const CODES_NOTICE_LIMIT: RateLimit = { name: "two-factor-notice", max: 1, windowSeconds: 60 * 60 };

/** Which budget an attempt spends: a recognised device's own (its token's nonce), or the account's shared one. */
export interface SecondFactorBudgetOptions {
  device?: string | null;
  /** Runs the owner's "repeated wrong codes" email after the answer (without one, the poller does). */
  schedule?: Schedule;
}

function budgetOf(userId: string, device: string | null | undefined): { limit: RateLimit; subject: string } {
  return device ? { limit: DEVICE_SECOND_FACTOR_LIMIT, subject: `${userId}:${device}` } : { limit: SECOND_FACTOR_LIMIT, subject: userId };
}

/** A code from the authenticator app (`otp`) or one recovery code (`recoveryCode`). */
export interface SecondFactorInput {
  otp?: string | null;
  recoveryCode?: string | null;
}

export type SecondFactorCheck =
  { ok: true; method: "totp" | "recovery_code"; recoveryCodesLeft?: number } | { ok: false; code: "INVALID_CODE" | "NOT_ENABLED" };

/** Why a code was not accepted: wrong, or over the budget. */
export type CodeRefusal = { ok: false; code: "INVALID_CODE" } | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

/**
 * Spends one attempt of the user's second-factor budget; the caller checks the code only when
 * it is allowed, and calls `settleAttempt` afterwards (a right code gives the attempt back).
 */
export async function countSecondFactorAttempt(
  db: Database,
  userId: string,
  context: RequestContext,
  options: SecondFactorBudgetOptions = {},
): Promise<{ ok: true } | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number }> {
  const { limit, subject } = budgetOf(userId, options.device);
  // One statement: the hit that crosses a budget also takes the account's hourly notice slot
  // and writes the owner's email job, so the count and its notice commit together.
  const [row] = await queryRows<{ count: number; retry_after_seconds: number; job_id: string | null }>(
    db,
    sql`with hit as (${countHitSql(limit, subject)}),
      gate as (${countHitSql(CODES_NOTICE_LIMIT, userId, sql`from hit where hit.count = ${limit.max + 1}`)}),
      notice as (${repeatedFailuresJobSql("codes", sql`gate`, sql`${users.id} = ${userId}`, sql`gate.count = 1`)})
      select hit.count, hit.retry_after_seconds, (select id from notice limit 1) as job_id from hit`,
  );
  if (!row) throw new Error("rate limit upsert returned no row");
  if (row.job_id) options.schedule?.(db, row.job_id);
  const counted = hitOutcome(limit, row);
  if (counted.allowed) return { ok: true };
  // Once per window (the first refusal), as every other limit is audited.
  await auditThrottled(
    db,
    { event: "two_factor.throttled", userId, ip: context.ip, userAgent: context.userAgent },
    counted.refusedInWindow,
  );
  return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: counted.retryAfterSeconds };
}

/**
 * After a counted attempt: a wrong code is audited and stays counted; anything else (a right
 * code, or a refusal that checked no code) gives the attempt back.
 */
export async function settleAttempt(
  db: Database,
  userId: string,
  outcome: { ok: boolean; code?: string },
  context: RequestContext,
  options: Pick<SecondFactorBudgetOptions, "device"> = {},
): Promise<void> {
  if (!outcome.ok && outcome.code === "INVALID_CODE") {
    await audit(db, { event: "two_factor.code_failed", userId, ip: context.ip, userAgent: context.userAgent });
    return;
  }
  const { limit, subject } = budgetOf(userId, options.device);
  await refundRateLimit(db, limit, subject);
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
  const [user] = await db
    .select({
      twoFactorSecret: users.twoFactorSecret,
      totp: sql<boolean>`${users.twoFactorEnabledAt} is not null`,
      any: hasSecondFactorSql(),
    })
    .from(users)
    .where(eq(users.id, userId));
  // Recovery codes stand in for any second factor (a passkey-only account has them too); an
  // authentication code only for two-factor.
  if (!user?.any) return { ok: false, code: "NOT_ENABLED" };

  if (input.otp) {
    if (!user.totp || !user.twoFactorSecret) return { ok: false, code: "INVALID_CODE" };
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
  await audit(tx, {
    event: "two_factor.recovery_code_used",
    userId: input.userId,
    ip: input.ip,
    userAgent: input.userAgent,
    details: { left: input.recoveryCodesLeft },
  });
  await enqueueTwoFactorNotice(db, tx, schedule, {
    userId: input.userId,
    email: user.email,
    change: "recovery_code_used",
    recoveryCodesLeft: input.recoveryCodesLeft,
    ip: input.ip,
    userAgent: input.userAgent,
  });
}
