import "server-only";
import { eq, sql } from "drizzle-orm";
import { createElement } from "react";
import type { Database } from "@/db/client";
import { passwordResetTokens, users } from "@/db/schema";
import ResetPasswordEmail, { resetPasswordSubject } from "@/emails/reset-password";
import { formatEmailTime } from "@/emails/layout";
import { audit, auditThrottled } from "./audit";
import { traced } from "./tracing";
import { clientKey, type RequestContext } from "./client-ip";
import { deleteUserSessions, nextCredentialsVersion } from "./auth/sessions";
import { env } from "./env";
import { sendFailure } from "./jobs/errors";
import { enqueueJob, RUN_ONCE, type JobSteps } from "./jobs/queue";
import { log } from "./log";
import { sendEmail } from "./mail";
import { lockUser } from "./user-lock";
import { hashNewPassword, passwordPolicyErrors } from "./passwords";
import { consumeRateLimit, type RateLimit } from "./rate-limit";
import { consumeToken, lookUpToken, spendUserTokens, type TokenProblem } from "./single-use-tokens";
import { emailFingerprint, generateToken } from "./tokens";
import {
  checkSecondFactor,
  countSecondFactorAttempt,
  hasTwoFactor,
  recordRecoveryCodeUse,
  settleAttempt,
  type CodeRefusal,
  type SecondFactorInput,
} from "./two-factor";
import { maskEmail, normalizeEmail } from "./validation/fields";

/** Runs work after the response has gone out (`after()` in Next; the tests pass their own). */
export type Schedule = (task: () => Promise<void>) => void;

export type { RequestContext };

const HOUR = 60 * 60;
const ipLimit = (): RateLimit => ({ name: "reset-ip", max: env().RESET_REQUESTS_PER_IP_PER_HOUR, windowSeconds: HOUR });
const emailLimit = (): RateLimit => ({ name: "reset-email", max: env().RESET_REQUESTS_PER_EMAIL_PER_HOUR, windowSeconds: HOUR });

export type RequestPasswordResetResult =
  | { ok: true; expiresInMinutes: number }
  | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

/**
 * Accepts a reset request for a well-formed email. The answer depends only on the caller's IP
 * budget: everything that depends on whether the account exists (per-email limit, look-up,
 * token, email) is a job, persisted here and run after the response.
 */
async function requestPasswordResetUntraced(
  db: Database,
  input: { email: string } & RequestContext,
  schedule: Schedule,
): Promise<RequestPasswordResetResult> {
  const limited = await consumeRateLimit(db, ipLimit(), clientKey(input.ip));
  if (!limited.allowed) {
    await auditThrottled(db, { event: "password_reset.throttled", ip: input.ip, userAgent: input.userAgent, details: { limit: "ip" } }, limited.refusedInWindow);
    return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: limited.retryAfterSeconds };
  }
  // The same one-row write for every address; the job decides what the address is.
  await enqueueJob(db, "password_reset.request", { email: input.email, ip: input.ip, userAgent: input.userAgent }, schedule);
  return { ok: true, expiresInMinutes: env().RESET_TOKEN_TTL_MINUTES };
}

/**
 * The deferred half of a request (the "password_reset.request" job). Throws when the work
 * should be tried again; the limit, look-up and audit are done once per job, not per attempt.
 */
async function deliverPasswordResetUntraced(db: Database, input: { email: string } & RequestContext, steps: JobSteps = RUN_ONCE): Promise<void> {
  const email = normalizeEmail(input.email);
  const context = { email, ip: input.ip, userAgent: input.userAgent };
  const decided = await steps.once("decide", async () => {
    // Counted for every address, existing or not, and invisible to the requester.
    const perEmail = await consumeRateLimit(db, emailLimit(), emailFingerprint(email));
    if (!perEmail.allowed) {
      await auditThrottled(db, { event: "password_reset.throttled", ...context, details: { limit: "email" } }, perEmail.refusedInWindow);
      return { userId: null, throttled: true };
    }
    const user = await db.query.users.findFirst({ where: eq(users.email, email), columns: { id: true } });
    await audit(db, { event: "password_reset.requested", ...context, userId: user?.id ?? null, details: { account_exists: Boolean(user) } });
    return { userId: user?.id ?? null, throttled: false };
  });
  if (decided.throttled) return;
  // No stand-in work for an unknown address: an email costs microseconds (lib/mail/templates.ts),
  // too little to tell the paths apart, and the answer went out before either ran.
  if (decided.userId) await issueResetLink(db, { id: decided.userId, email }, input, steps);
}

function resetEmail(token: string, requestedAt: Date, requestIp: string | null) {
  const config = env();
  // The link is built from APP_URL only: never from Host or X-Forwarded-Host.
  return createElement(ResetPasswordEmail, {
    resetUrl: `${config.APP_URL}/reset-password/${token}`,
    expiresInMinutes: config.RESET_TOKEN_TTL_MINUTES,
    requestedAt: formatEmailTime(requestedAt),
    requestIp: requestIp ?? "unknown",
    forgotPasswordUrl: `${config.APP_URL}/forgot-password`,
  });
}

/**
 * Creates a reset token for `user` and emails the link (built from APP_URL only, never from
 * Host or X-Forwarded-Host). The token is made once per job and kept sealed between attempts,
 * so every retry sends the same email under the same idempotency key. Records each failed
 * attempt, then throws it (lib/jobs/errors.ts) for the runner to retry or abandon.
 */
async function issueResetLinkUntraced(db: Database, user: { id: string; email: string }, context: RequestContext, steps: JobSteps = RUN_ONCE): Promise<void> {
  const config = env();
  const link = await steps.once(
    "reset-link",
    async () => {
      const { token, hash } = generateToken();
      const requestedAt = new Date();
      const expiresAt = new Date(requestedAt.getTime() + config.RESET_TOKEN_TTL_MINUTES * 60_000);
      const row = await db.transaction(async (tx) => {
        if (config.RESET_INVALIDATE_PREVIOUS_TOKENS) await spendUserTokens(tx, passwordResetTokens, user.id);
        const [inserted] = await tx
          .insert(passwordResetTokens)
          .values({ userId: user.id, tokenHash: hash, createdAt: requestedAt, expiresAt, requestIp: context.ip, requestUserAgent: context.userAgent })
          .returning({ id: passwordResetTokens.id });
        return inserted;
      });
      if (!row) throw new Error("token insert returned no row");
      return { token, tokenId: row.id, requestedAt: requestedAt.toISOString() };
    },
    ["token"],
  );

  const sent = await sendEmail({
    to: user.email,
    subject: resetPasswordSubject,
    react: resetEmail(link.token, new Date(link.requestedAt), context.ip),
    idempotencyKey: `password-reset/${link.tokenId}`,
  });
  const entry = { email: user.email, ip: context.ip, userAgent: context.userAgent, userId: user.id };
  if (sent.ok) {
    await audit(db, { event: "password_reset.email_sent", ...entry, details: { token_id: link.tokenId } });
    return;
  }
  if (!sent.paced) {
    log("error", "password_reset.email_failed", { userId: user.id, tokenId: link.tokenId, reason: sent.reason });
    await audit(db, { event: "password_reset.email_failed", ...entry, details: { token_id: link.tokenId, reason: sent.reason } });
  }
  throw sendFailure(sent);
}

export type { TokenProblem };

export type InspectResult =
  | { status: "valid"; maskedEmail: string; expiresAt: Date; secondFactorRequired: boolean }
  | { status: TokenProblem };

/**
 * What a reset link is, without consuming it: GET and HEAD (and mail scanners) land here.
 * `secondFactorRequired`: the reset will also ask for an authentication or recovery code.
 */
async function inspectResetTokenUntraced(db: Database, token: string): Promise<InspectResult> {
  const found = await findToken(db, token);
  if (found.status !== "valid") return { status: found.status };
  return { status: "valid", maskedEmail: maskEmail(found.email), expiresAt: found.expiresAt, secondFactorRequired: await hasTwoFactor(db, found.userId) };
}

type FoundToken =
  | { status: "valid"; userId: string; email: string; passwordHash: string | null; expiresAt: Date }
  | { status: TokenProblem; userId?: string };

async function findToken(db: Database, token: string): Promise<FoundToken> {
  const found = await lookUpToken(db, passwordResetTokens, token);
  if (found.status !== "valid") return found;
  const user = await db.query.users.findFirst({ where: eq(users.id, found.userId), columns: { email: true, passwordHash: true } });
  if (!user) return { status: "invalid" };
  return { status: "valid", userId: found.userId, email: user.email, passwordHash: user.passwordHash, expiresAt: found.expiresAt };
}

export type ResetPasswordResult =
  | { ok: true }
  | { ok: false; code: "TOKEN_INVALID" | "TOKEN_EXPIRED" | "TOKEN_USED" }
  | { ok: false; code: "PASSWORD_REJECTED"; passwordErrors: string[] }
  /** The account has two-factor authentication on and no code came with the password. */
  | { ok: false; code: "SECOND_FACTOR_REQUIRED" }
  /** A wrong or already used code (INVALID_CODE), or past the account's code budget (RATE_LIMITED). */
  | CodeRefusal;

/** Thrown inside the reset's transaction to roll back the token it consumed, carrying the answer. */
class RollBack extends Error {
  constructor(readonly result: ResetPasswordResult) {
    super("reset rolled back");
  }
}

const hasSecondFactorInput = (input: SecondFactorInput): boolean => Boolean(input.otp?.trim() || input.recoveryCode?.trim());

/** The result code for each way a reset link can fail to work. */
export const TOKEN_PROBLEM_CODES = { invalid: "TOKEN_INVALID", expired: "TOKEN_EXPIRED", used: "TOKEN_USED" } as const;
const PROBLEM_EVENTS = {
  invalid: "password_reset.token_invalid",
  expired: "password_reset.token_expired",
  used: "password_reset.token_reused",
} as const;

/** Records a link that did not work (page view or submission), then returns its problem. */
export async function auditTokenProblem(db: Database, problem: TokenProblem, context: RequestContext & { userId?: string }): Promise<void> {
  await audit(db, { event: PROBLEM_EVENTS[problem], userId: context.userId ?? null, ip: context.ip, userAgent: context.userAgent });
}

/**
 * Sets a new password with a reset token. A rejected password leaves the token valid. The
 * token is consumed by a conditional update inside the transaction, so of two concurrent
 * submissions exactly one wins; the winner's transaction also ends every session of the user.
 *
 * For an account with two-factor authentication on, the mailbox alone is not enough: an
 * authentication code (`otp`) or a recovery code must come with the password. The token is
 * consumed only when both are accepted; a missing code changes nothing and counts nothing, a
 * wrong one rolls the consumption back and stays counted against the account's code budget.
 */
async function resetPasswordUntraced(
  db: Database,
  input: { token: string; password: string } & SecondFactorInput & RequestContext,
  schedule: Schedule,
): Promise<ResetPasswordResult> {
  const found = await findToken(db, input.token);
  if (found.status !== "valid") {
    await auditTokenProblem(db, found.status, { ...input, userId: found.userId });
    return { ok: false, code: TOKEN_PROBLEM_CODES[found.status] };
  }
  // Asked before anything is hashed or counted; asked again under the user's lock in the
  // transaction, so a second factor turned on meanwhile is still required.
  const secondFactor = await hasTwoFactor(db, found.userId);
  if (secondFactor && !hasSecondFactorInput(input)) return { ok: false, code: "SECOND_FACTOR_REQUIRED" };

  // The policy, the "different from your current password" check and the new hash side by side:
  // one argon2 run's wait, not two. A rejected password only wasted its hash (and, with two
  // factors, spent no code: the code is checked only once the password is accepted).
  // Hashed before the transaction so that row locks are held for milliseconds, not an argon2 run.
  const [passwordErrors, hashed] = await Promise.all([passwordPolicyErrors(input.password), hashNewPassword(found.passwordHash, input.password)]);
  if (hashed.sameAsCurrent) passwordErrors.push("Choose a password different from your current one.");
  if (passwordErrors.length > 0) return { ok: false, code: "PASSWORD_REJECTED", passwordErrors };

  // Counted before the code is checked and outside the transaction (PGlite has one connection):
  // parallel guesses cannot pass the budget, and the count outlives a wrong code's rollback.
  if (secondFactor) {
    const budget = await countSecondFactorAttempt(db, found.userId, input);
    if (!budget.ok) return budget;
  }
  let outcome: ResetPasswordResult | null;
  try {
    outcome = await consumeAndChange(db, { ...input, userId: found.userId, passwordHash: hashed.hash, codeCounted: secondFactor }, schedule);
  } catch (error) {
    if (!(error instanceof RollBack)) throw error;
    outcome = error.result;
  }
  // A right code (or one never checked because the token was gone) gives its attempt back.
  if (secondFactor) await settleAttempt(db, found.userId, outcome ?? { ok: false }, input);
  if (outcome) return outcome;

  // Lost a race (or expired a moment ago): say which, from the row as it is now.
  const now = await findToken(db, input.token);
  const problem: TokenProblem = now.status === "valid" ? "used" : now.status;
  await auditTokenProblem(db, problem, { ...input, userId: found.userId });
  return { ok: false, code: TOKEN_PROBLEM_CODES[problem] };
}

/**
 * The reset's one transaction: consume the token, check the second factor, set the password,
 * end the sessions. Null when the token was no longer there to consume; throws RollBack when
 * the second factor refused (the token's consumption is undone with it).
 */
async function consumeAndChange(
  db: Database,
  input: { token: string; userId: string; passwordHash: string; codeCounted: boolean } & SecondFactorInput & RequestContext,
  schedule: Schedule,
): Promise<{ ok: true } | null> {
  return db.transaction(async (tx) => {
    // The user row first, as every credential change does (see lockUser): no deadlocks.
    if (!(await lockUser(tx, input.userId))) return null;
    const consumed = await consumeToken(tx, passwordResetTokens, input.token);
    if (!consumed) return null;

    // Checked (and spent) in the transaction that consumes the token: a wrong code rolls the
    // token back, so the link still works; a right one is spent only together with the change.
    let recoveryCodesLeft: number | undefined;
    if (await hasTwoFactor(tx, consumed.userId)) {
      // Turned on since the check above: no code came, or it was not counted. Ask again.
      if (!input.codeCounted || !hasSecondFactorInput(input)) throw new RollBack({ ok: false, code: "SECOND_FACTOR_REQUIRED" });
      const checked = await checkSecondFactor(tx, consumed.userId, input);
      if (!checked.ok) throw new RollBack({ ok: false, code: checked.code === "NOT_ENABLED" ? "SECOND_FACTOR_REQUIRED" : "INVALID_CODE" });
      if (checked.method === "recovery_code") recoveryCodesLeft = checked.recoveryCodesLeft ?? 0;
    }

    const [user] = await tx
      .update(users)
      .set({
        passwordHash: input.passwordHash,
        passwordChangedAt: sql`now()`,
        credentialsVersion: nextCredentialsVersion(),
        // A forced reset is over once a new password is chosen; the old hash is of no more use.
        passwordResetForcedAt: null,
        retiredPasswordHash: null,
        // Following the emailed link proved the address is theirs.
        emailVerified: sql`coalesce(${users.emailVerified}, now())`,
      })
      .where(eq(users.id, consumed.userId))
      .returning({ id: users.id, email: users.email, passwordChangedAt: users.passwordChangedAt });
    if (!user) throw new Error("reset token points at a missing user");

    // Every other outstanding link of the user dies with this one.
    await spendUserTokens(tx, passwordResetTokens, user.id);
    const revoked = await deleteUserSessions(tx, user.id);
    await audit(tx, { event: "password_reset.completed", userId: user.id, ip: input.ip, userAgent: input.userAgent, details: { token_id: consumed.id } });
    await audit(tx, { event: "sessions.revoked", userId: user.id, ip: input.ip, userAgent: input.userAgent, details: { count: revoked, reason: "password_reset" } });
    // In the transaction: the "your password was changed" warning commits with the change.
    const changedAt = (user.passwordChangedAt ?? new Date()).toISOString();
    await enqueueJob(db, "password_changed.notify", { userId: user.id, email: user.email, changedAt, ip: input.ip, userAgent: input.userAgent }, schedule, tx);
    if (recoveryCodesLeft !== undefined) {
      await recordRecoveryCodeUse(db, tx, schedule, { userId: user.id, recoveryCodesLeft, ip: input.ip, userAgent: input.userAgent });
    }
    return { ok: true } as const;
  });
}

// Each step of the reset flow is a span when tracing is on (instrumentation.ts).
export const requestPasswordReset = traced("password_reset.request", requestPasswordResetUntraced);
export const deliverPasswordReset = traced("password_reset.deliver", deliverPasswordResetUntraced);
export const issueResetLink = traced("password_reset.issue_link", issueResetLinkUntraced);
export const inspectResetToken = traced("password_reset.inspect_token", inspectResetTokenUntraced);
export const resetPassword = traced("password_reset.complete", resetPasswordUntraced);
