import "server-only";
import type { Database } from "@/db/client";
import { audit, auditThrottled } from "../audit";
import { clientKey } from "../client-ip";
import { env } from "../env";
import {
  consumeRateLimit,
  describeWait,
  peekRateLimit,
  refundRateLimit,
  resetRateLimit,
  type RateLimit,
  type RateLimitResult,
} from "../rate-limit";
import { emailFingerprint } from "../tokens";
import { verifyCredentials, type CredentialsResult } from "./credentials";

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

/** Who is trying to sign in, as the limits see it. */
export interface SignInAttempt {
  email: string;
  ip: string | null;
}

// The keyed fingerprint, computed alike for every address, so an unknown address is counted
// and refused exactly like a known one, and no bucket key names an address.
const pairSubject = (attempt: SignInAttempt): string => `${emailFingerprint(attempt.email)}:${clientKey(attempt.ip)}`;

export type SignInBudget = { allowed: true } | { allowed: false; retryAfterSeconds: number; limit: "account_ip" | "ip" };

function budgetOf(pair: RateLimitResult, perIp: RateLimitResult): SignInBudget {
  // Both spent: the attempt is possible again only once both windows have ended.
  if (!pair.allowed && (perIp.allowed || pair.retryAfterSeconds >= perIp.retryAfterSeconds)) {
    return { allowed: false, retryAfterSeconds: pair.retryAfterSeconds, limit: "account_ip" };
  }
  if (!perIp.allowed) return { allowed: false, retryAfterSeconds: perIp.retryAfterSeconds, limit: "ip" };
  return { allowed: true };
}

/** Whether an attempt may check a password now (counts nothing), and if not, how long to wait. */
export async function peekSignInThrottle(db: Database, attempt: SignInAttempt): Promise<SignInBudget> {
  const [pair, perIp] = await Promise.all([
    peekRateLimit(db, accountAndIpLimit(), pairSubject(attempt)),
    peekRateLimit(db, ipLimit(), clientKey(attempt.ip)),
  ]);
  return budgetOf(pair, perIp);
}

/**
 * After a success: forgets this address's failures from this IP, and gives back the attempt's
 * per-IP count (only failures count there). The rest of the per-IP count stays: one good
 * password must not buy a credential-stuffing run a fresh budget.
 */
export async function clearSignInFailures(db: Database, attempt: SignInAttempt): Promise<void> {
  await Promise.all([resetRateLimit(db, accountAndIpLimit(), pairSubject(attempt)), refundRateLimit(db, ipLimit(), clientKey(attempt.ip))]);
}

/**
 * Counts one password guess for `attempt` against both limits and says whether it may be
 * checked. Counted before the password is checked, so guesses sent in parallel cannot slip past
 * the limit together; a success gives its count back (clearSignInFailures).
 */
export async function countSignInAttempt(db: Database, attempt: SignInAttempt): Promise<SignInBudget & { refusedInWindow: number }> {
  const [pair, perIp] = await Promise.all([
    consumeRateLimit(db, accountAndIpLimit(), pairSubject(attempt)),
    consumeRateLimit(db, ipLimit(), clientKey(attempt.ip)),
  ]);
  // For auditThrottled: 1 when this guess crossed either limit (one audit row per window).
  const crossed = [pair, perIp].some((r) => !r.allowed && r.refusedInWindow === 1);
  const refused = Math.max(pair.allowed ? 0 : pair.refusedInWindow, perIp.allowed ? 0 : perIp.refusedInWindow);
  return { ...budgetOf(pair, perIp), refusedInWindow: crossed ? 1 : refused };
}

export type SignInResult = CredentialsResult | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

/**
 * Checks an email and password within the sign-in limits. Once either limit is spent the
 * password is not checked at all (the right one is refused too) until the window ends.
 */
export async function attemptSignIn(
  db: Database,
  input: SignInAttempt & { password: string; userAgent: string | null },
): Promise<SignInResult> {
  const attempt = { email: input.email, ip: input.ip };
  const budget = await countSignInAttempt(db, attempt);
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
