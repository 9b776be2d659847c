import "server-only";
import { sql } from "drizzle-orm";
import { queryRows, type Database } from "@/db/client";
import { users } from "@/db/schema";
import { audit, auditThrottled } from "../audit";
import { clientKey } from "../client-ip";
import { env } from "../env";
import type { Schedule } from "../jobs/definition";
import {
  consumeRateLimit,
  countHitSql,
  describeWait,
  hitOutcome,
  peekRateLimit,
  refundRateLimit,
  resetRateLimit,
  type RateLimit,
  type RateLimitResult,
} from "../rate-limit";
import { emailFingerprint } from "../tokens";
import { verifyCredentials, type CredentialsResult } from "./credentials";
import { repeatedFailuresJobSql } from "./owner-alerts";

const FIFTEEN_MINUTES = 15 * 60;
const HOUR = 60 * 60;

/** Failed sign-ins per address and client IP: SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP per 15 minutes. */
export const accountAndIpLimit = (): RateLimit => ({
  name: "sign-in-account-ip",
  max: env().SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP,
  windowSeconds: FIFTEEN_MINUTES,
});

/** Failed sign-ins per client IP across all addresses: SIGN_IN_FAILURES_PER_IP_PER_HOUR an hour. */
export const ipLimit = (): RateLimit => ({ name: "sign-in-ip", max: env().SIGN_IN_FAILURES_PER_IP_PER_HOUR, windowSeconds: HOUR });

/**
 * Failed sign-ins per address across every IP: SIGN_IN_FAILURES_PER_ACCOUNT_PER_HOUR an hour.
 * Past it, only a device that has signed in to the address before may try (in its own bucket).
 */
export const accountLimit = (): RateLimit => ({
  name: "sign-in-account",
  max: env().SIGN_IN_FAILURES_PER_ACCOUNT_PER_HOUR,
  windowSeconds: HOUR,
});

/** Failed sign-ins of one recognised device (its token's nonce): 10 per 15 minutes, instead of every other limit. */
export const DEVICE_LIMIT: RateLimit = { name: "sign-in-device", max: 10, windowSeconds: FIFTEEN_MINUTES };

/** Who is trying to sign in, as the limits see it. */
export interface SignInAttempt {
  email: string;
  ip: string | null;
  /**
   * The nonce of this browser's valid device token for this address (lib/auth/device-token.ts):
   * its attempts count in its own bucket, never refused because of others' failures.
   */
  device?: string | null;
}

// The keyed fingerprint, computed alike for every address, so an unknown address is counted
// and refused exactly like a known one, and no bucket key names an address.
const pairSubject = (attempt: SignInAttempt): string => `${emailFingerprint(attempt.email)}:${clientKey(attempt.ip)}`;

type LimitName = "account_ip" | "ip" | "account" | "device";

export type SignInBudget = { allowed: true } | { allowed: false; retryAfterSeconds: number; limit: LimitName };

function budgetOf(results: [LimitName, RateLimitResult][]): SignInBudget {
  // Several spent: the attempt is possible again only once all their windows have ended.
  let refused: SignInBudget = { allowed: true };
  for (const [limit, result] of results) {
    if (!result.allowed && (refused.allowed || result.retryAfterSeconds > refused.retryAfterSeconds)) {
      refused = { allowed: false, retryAfterSeconds: result.retryAfterSeconds, limit };
    }
  }
  return refused;
}

/** Whether an attempt may check a password now (counts nothing), and if not, how long to wait. */
export async function peekSignInThrottle(db: Database, attempt: SignInAttempt): Promise<SignInBudget> {
  if (attempt.device) return budgetOf([["device", await peekRateLimit(db, DEVICE_LIMIT, attempt.device)]]);
  const [pair, perIp, perAccount] = await Promise.all([
    peekRateLimit(db, accountAndIpLimit(), pairSubject(attempt)),
    peekRateLimit(db, ipLimit(), clientKey(attempt.ip)),
    peekRateLimit(db, accountLimit(), emailFingerprint(attempt.email)),
  ]);
  return budgetOf([
    ["account_ip", pair],
    ["ip", perIp],
    ["account", perAccount],
  ]);
}

/**
 * Counts one failure-to-be against the address's limit across all IPs; the statement that
 * crosses it also writes the owner's "repeated failed sign-ins" job (for a confirmed account
 * only, once per window, since only one hit crosses), and the job runs after the answer.
 */
async function countAccountAttempt(db: Database, email: string, schedule: Schedule | undefined): Promise<RateLimitResult> {
  const limit = accountLimit();
  const [row] = await queryRows<{ count: number; retry_after_seconds: number; job_id: string | null }>(
    db,
    sql`with hit as (${countHitSql(limit, emailFingerprint(email))}),
      notice as (${repeatedFailuresJobSql("passwords", sql`hit`, sql`${users.email} = ${email}`, sql`hit.count = ${limit.max + 1}`)})
      select hit.count, hit.retry_after_seconds, (select id from notice limit 1) as job_id from hit`,
  );
  if (!row) throw new Error("rate limit upsert returned no row");
  if (row.job_id) schedule?.(db, row.job_id);
  return hitOutcome(limit, row);
}

/**
 * After a success: forgets this address's failures from this IP, and gives back the attempt's
 * per-IP count (only failures count there). The rest of the per-IP count stays: one good
 * password must not buy a credential-stuffing run a fresh budget.
 */
export async function clearSignInFailures(db: Database, attempt: SignInAttempt): Promise<void> {
  if (attempt.device) return resetRateLimit(db, DEVICE_LIMIT, attempt.device);
  await Promise.all([
    resetRateLimit(db, accountAndIpLimit(), pairSubject(attempt)),
    refundRateLimit(db, ipLimit(), clientKey(attempt.ip)),
    refundRateLimit(db, accountLimit(), emailFingerprint(attempt.email)),
  ]);
}

/**
 * Counts one password guess for `attempt` against both limits and says whether it may be
 * checked. Counted before the password is checked, so guesses sent in parallel cannot slip past
 * the limit together; a success gives its count back (clearSignInFailures).
 */
export async function countSignInAttempt(
  db: Database,
  attempt: SignInAttempt,
  schedule?: Schedule,
): Promise<SignInBudget & { refusedInWindow: number }> {
  // A recognised device counts in its own bucket only: no failure of anyone else's, from any
  // IP, spends it. Everyone else counts against the address (all IPs), the pair and the IP.
  const results: [LimitName, RateLimitResult][] = attempt.device
    ? [["device", await consumeRateLimit(db, DEVICE_LIMIT, attempt.device)]]
    : await Promise.all([
        consumeRateLimit(db, accountAndIpLimit(), pairSubject(attempt)).then((r) => ["account_ip", r] as [LimitName, RateLimitResult]),
        consumeRateLimit(db, ipLimit(), clientKey(attempt.ip)).then((r) => ["ip", r] as [LimitName, RateLimitResult]),
        countAccountAttempt(db, attempt.email, schedule).then((r) => ["account", r] as [LimitName, RateLimitResult]),
      ]);
  // For auditThrottled: 1 when this guess crossed any limit (one audit row per window).
  const crossed = results.some(([, r]) => !r.allowed && r.refusedInWindow === 1);
  const refused = Math.max(...results.map(([, r]) => (r.allowed ? 0 : r.refusedInWindow)));
  return { ...budgetOf(results), refusedInWindow: crossed ? 1 : refused };
}

export type SignInResult = CredentialsResult | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

/**
 * Checks an email and password within the sign-in limits. Once either limit is spent the
 * password is not checked at all (the right one is refused too) until the window ends.
 */
export async function attemptSignIn(
  db: Database,
  input: SignInAttempt & { password: string; userAgent: string | null },
  schedule?: Schedule,
): Promise<SignInResult> {
  const attempt = { email: input.email, ip: input.ip, device: input.device ?? null };
  const budget = await countSignInAttempt(db, attempt, schedule);
  if (!budget.allowed) {
    // One row when either limit is crossed in its window, not one per refused guess.
    await auditThrottled(
      db,
      {
        event: "user.sign_in_throttled",
        email: input.email,
        ip: input.ip,
        userAgent: input.userAgent,
        details: { limit: budget.limit, retryAfterSeconds: budget.retryAfterSeconds },
      },
      budget.refusedInWindow,
    );
    return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: budget.retryAfterSeconds };
  }

  const result = await verifyCredentials(db, input.email, input.password);
  if (!result.ok) {
    await audit(db, { event: "user.sign_in_failed", email: input.email, ip: input.ip, userAgent: input.userAgent });
    return result;
  }
  await clearSignInFailures(db, attempt);
  return result;
}

/**
 * What the sign-in form says once throttled: the same words for every address, known or not,
 * since the limits count both alike.
 */
export async function signInThrottledMessage(db: Database, attempt: SignInAttempt): Promise<string> {
  const budget = await peekSignInThrottle(db, attempt);
  // A window that ended between the refusal and this look: a minute is still an honest answer.
  const seconds = budget.allowed ? 60 : budget.retryAfterSeconds;
  return `Too many sign-in attempts. Try again in ${describeWait(seconds)}.`;
}
