import "server-only";
import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Database, Transaction } from "@/db/client";
import { recoveryCodes, users } from "@/db/schema";
import { audit, auditThrottled } from "../audit";
import type { RequestContext } from "../client-ip";
import type { Schedule } from "../jobs/definition";
import { seal, unsealWithAge } from "../jobs/seal";
import { consumeRateLimit, refundRateLimit, type RateLimit } from "../rate-limit";
import { enqueueTwoFactorNotice } from "./notify";
import { hashRecoveryCode, normalizeRecoveryCode, recoveryCodesLeft } from "./recovery-codes";
import { matchingTotpStep } from "./totp";

/**
 * Second-factor codes per account: 5 per 15 minutes, counted before the code is checked (an
 * atomic upsert, so parallel guesses cannot exceed it) and given back when the code was right.
 * One budget for sign-in, reset, enrolment and turning it off.
 */
export const SECOND_FACTOR_LIMIT: RateLimit = { name: "two-factor", max: 5, windowSeconds: 15 * 60 };

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
): Promise<{ ok: true } | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number }> {
  const counted = await consumeRateLimit(db, SECOND_FACTOR_LIMIT, userId);
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
): Promise<void> {
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
  const user = await db.query.users.findFirst({
    where: eq(users.id, userId),
    columns: { twoFactorSecret: true, twoFactorEnabledAt: true },
  });
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
