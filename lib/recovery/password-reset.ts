import "server-only";
import { sql, type SQL } from "drizzle-orm";
import { createElement } from "react";
import { z } from "zod";
import { queryRows, type Database, type Transaction } from "@/db/client";
import { passwordResetTokens, users } from "@/db/schema";
import ResetPasswordEmail, { resetPasswordSubject } from "@/emails/reset-password";
import { formatEmailTime } from "@/emails/layout";
import { audit, auditInsertSql, auditThrottled, noteAudited, noteRefusalContinuing } from "../audit";
import { batchedPerDatabase } from "../batch";
import { traced } from "../tracing";
import { clientKey, type RequestContext } from "../client-ip";
import { deleteUserSessionsSql, nextCredentialsVersion } from "../auth/sessions";
import { env } from "../env";
import { sendFailure } from "../jobs/errors";
import { enqueueJobWithinLimit, heldInputSql, jobInsertSql, LeaseLost, recordStep, RUN_ONCE, scheduleJob, stepJsonSql, stepsRecordSql, type Claim, type JobSteps } from "../jobs/queue";
import { seal } from "../jobs/seal";
import { log } from "../log";
import { sendEmail } from "../mail";
import { lockUserSql } from "../user-lock";
import { hashNewPassword, passwordPolicyErrors } from "../password-hashing";
import { countEachHitSql, type RateLimit } from "../rate-limit";
import { consumeToken, consumeTokenSql, lookUpTokenAndUser, spendUserTokensSql, type TokenProblem } from "../single-use-tokens";
import { emailFingerprint, generateToken, isWellFormedToken } from "../tokens";
import {
  checkSecondFactor,
  countSecondFactorAttempt,
  hasTwoFactor,
  recordRecoveryCodeUse,
  settleAttempt,
  type CodeRefusal,
  type SecondFactorInput,
} from "../second-factor/two-factor";
import { maskEmail, normalizeEmail } from "../validation/fields";

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
  // The IP's hit and the job row in one statement: the same one write for every address; the
  // job decides what the address is.
  const limited = await enqueueJobWithinLimit(
    db,
    "password_reset.request",
    { email: input.email, ip: input.ip, userAgent: input.userAgent },
    schedule,
    ipLimit(),
    clientKey(input.ip),
  );
  if (!limited.allowed) {
    await auditThrottled(db, { event: "password_reset.throttled", ip: input.ip, userAgent: input.userAgent, details: { limit: "ip" } }, limited.refusedInWindow);
    return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: limited.retryAfterSeconds };
  }
  return { ok: true, expiresInMinutes: env().RESET_TOKEN_TTL_MINUTES };
}

type Decision = { userId: string | null; throttled: boolean };
/** A decision as decideRequests answers it: with the reset link it made for a known address. */
type DecisionWithLink = Decision & { link?: ResetLink };

const ResetRequestPayload = z.object({ email: z.string(), ip: z.string().nullable(), userAgent: z.string().nullable() });

/**
 * The deferred half of a request (the "password_reset.request" job). Throws when the work
 * should be tried again; the limit, look-up and audit are done once per job, not per attempt.
 */
async function deliverPasswordResetUntraced(db: Database, payload: unknown, steps: JobSteps = RUN_ONCE): Promise<void> {
  const input = ResetRequestPayload.parse(payload);
  const email = normalizeEmail(input.email);
  const decided: DecisionWithLink | undefined =
    steps.completed<Decision>("decide") ?? (await decideRequests(db, [{ claim: steps.claim, email, ip: input.ip, userAgent: input.userAgent }]))[0];
  if (!decided) throw new LeaseLost("decide");
  // No stand-in work for an unknown address: an email costs microseconds (lib/mail/templates.ts),
  // too little to tell the paths apart, and the answer went out before either ran.
  if (!decided.throttled && decided.userId) await issueResetLink(db, { id: decided.userId, email }, input, steps, decided.link);
}

/**
 * The first step of many "password_reset.request" jobs claimed together, in one statement
 * (decideRequests); each job then runs on (its decision recorded) or has ended. A job whose
 * payload does not parse is left to its own run, which abandons it.
 */
async function decidePasswordResetJobsUntraced(db: Database, claims: Claim[]): Promise<void> {
  const requests: DecideRequest[] = [];
  for (const claim of claims) {
    const payload = ResetRequestPayload.safeParse(claim.job.payload);
    if (!payload.success || (claim.job.payload?.steps as Record<string, unknown> | undefined)?.decide) continue;
    requests.push({ claim, email: normalizeEmail(payload.data.email), ip: payload.data.ip, userAgent: payload.data.userAgent });
  }
  if (requests.length > 0) await decideRequests(db, requests);
}

type DecideRequest = { claim: Claim | null; email: string } & RequestContext;

/**
 * For each request: the per-email limit (counted for every address, existing or not, and
 * invisible to the requester), the look-up and its audit row and, for a known address within
 * its limit, the reset token, all in ONE statement for the lot that also records each decision
 * (and its token, sealed) in its job, or ends the job when nothing is left to do (a throttled
 * or unknown address): a retry never counts, audits or makes a token twice, and a batch costs
 * one round trip whatever its addresses. Answers each request's decision; none for a job whose
 * claim was lost.
 */
async function decideRequests(db: Database, requests: DecideRequest[]): Promise<(DecisionWithLink | undefined)[]> {
  const config = env();
  const limit = emailLimit();
  const requestedAt = new Date();
  const expiresAt = new Date(requestedAt.getTime() + config.RESET_TOKEN_TTL_MINUTES * 60_000);
  // A token for every request: which addresses are known is decided inside the statement, and
  // a token costs microseconds. Only a known address's is stored, and only sealed.
  const tokens = requests.map(() => generateToken());
  const sealedTokens = tokens.map(({ token }) => seal(token));
  const input = requests.map((r, n) => ({
    n,
    job_id: r.claim?.job.id ?? null,
    claim_id: r.claim?.claimId ?? null,
    email: r.email,
    fp: emailFingerprint(r.email),
    ip: r.ip,
    user_agent: r.userAgent,
    token_hash: tokens[n]!.hash,
    sealed_token: sealedTokens[n],
  }));
  const context = { email: sql`decision.fp`, ip: sql`decision.ip`, userAgent: sql`decision.user_agent` };
  const t = passwordResetTokens;
  // Each request's own count is the bucket's count before the batch plus its place among the
  // batch's requests for the address (countEachHitSql).
  const rows = await queryRows<{ n: number; throttled: boolean; refused: number; user_id: string | null; token_id: string | null }>(
    db,
    sql`with ${heldInputSql(input, "n int, job_id uuid, claim_id uuid, email text, fp text, ip text, user_agent text, token_hash text, sealed_token text")},
      ${countEachHitSql(limit, sql`held`, sql`held.fp`)},
      decision as (
        select counted.*, counted.count > ${limit.max} as throttled, counted.count - ${limit.max} as refused,
          (select ${users.id} from ${users} where ${users.email} = counted.email) as user_id
        from counted),
      linked as (
        select decision.*, row_number() over (partition by decision.user_id order by decision.n desc) > 1 as superseded
        from decision where not decision.throttled and decision.user_id is not null),
      spent as (${spendUserTokensSql(t, { userIds: sql`select user_id from linked` }, sql`${config.RESET_INVALIDATE_PREVIOUS_TOKENS}::boolean`)}),
      -- When only the newest link may work, a user's earlier requests in this batch get theirs spent at once.
      inserted as (
        insert into ${t} (user_id, token_hash, created_at, expires_at, request_ip, request_user_agent, used_at)
        select user_id, token_hash, ${requestedAt.toISOString()}::timestamptz, ${expiresAt.toISOString()}::timestamptz, ip, user_agent,
          case when ${config.RESET_INVALIDATE_PREVIOUS_TOKENS}::boolean and superseded then now() end
        from linked returning id, token_hash),
      outcome as (
        select decision.*, inserted.id as token_id from decision left join inserted on inserted.token_hash = decision.token_hash),
      requested as (${auditInsertSql(
        { event: "password_reset.requested", ...context, userId: sql`decision.user_id`, details: sql`jsonb_build_object('account_exists', decision.user_id is not null)` },
        sql`from decision where not decision.throttled`,
      )}),
      throttled as (${auditInsertSql(
        { event: "password_reset.throttled", ...context, details: { limit: "email" } },
        sql`from decision where decision.throttled and decision.refused = 1`,
      )}),
      recorded as (${stepsRecordSql(
        sql`select job_id, claim_id, token_id is null, ${stepJsonSql("decide", [], sql`jsonb_build_object('userId', user_id, 'throttled', throttled)`)}
          || case when token_id is null then '{}'::jsonb
            else ${stepJsonSql("reset-link", ["token"], sql`jsonb_build_object('token', sealed_token, 'tokenId', token_id, 'requestedAt', ${requestedAt.toISOString()}::text)`)} end
          from outcome where job_id is not null`,
      )})
      select n, throttled, refused::int, user_id, token_id from outcome`,
  );
  const decisions: (DecisionWithLink | undefined)[] = requests.map(() => undefined);
  for (const row of rows) {
    const request = requests[row.n];
    if (!request) continue;
    const decision: Decision = { userId: row.user_id, throttled: row.throttled };
    const link = row.token_id ? { token: tokens[row.n]!.token, tokenId: row.token_id, requestedAt: requestedAt.toISOString() } : undefined;
    decisions[row.n] = { ...decision, link };
    const context = { email: request.email, ip: request.ip, userAgent: request.userAgent };
    if (!decision.throttled) noteAudited({ event: "password_reset.requested", ...context, userId: decision.userId, details: { account_exists: Boolean(decision.userId) } });
    else if (row.refused === 1) noteAudited({ event: "password_reset.throttled", ...context, details: { limit: "email" } });
    else noteRefusalContinuing({ event: "password_reset.throttled", ...context, details: { limit: "email" } }, row.refused);
    if (!request.claim) continue;
    recordStep(request.claim, "decide", decision, [], !link);
    if (link) recordStep(request.claim, "reset-link", { ...link, token: sealedTokens[row.n]! }, ["token"], false);
  }
  return decisions;
}

/** The reset email for `token` (the bench's floor route sends the same one). */
export function resetEmail(token: string, requestedAt: Date, requestIp: string | null) {
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

type ResetLink = { token: string; tokenId: string; requestedAt: string };

/**
 * A new reset token for `user` (spending older ones when so configured) and the job's record of
 * it, sealed, in one statement: a retry finds the same token, so it sends the same email under
 * the same idempotency key.
 */
async function createResetLink(db: Database, userId: string, context: RequestContext, steps: JobSteps): Promise<ResetLink> {
  const config = env();
  const { token, hash } = generateToken();
  const requestedAt = new Date();
  const expiresAt = new Date(requestedAt.getTime() + config.RESET_TOKEN_TTL_MINUTES * 60_000);
  const step = steps.statement("reset-link", ["token"]);
  const sealedToken = seal(token);
  const stored = sql`(select jsonb_build_object('token', ${sealedToken}::text, 'tokenId', id, 'requestedAt', ${requestedAt.toISOString()}::text) from inserted)`;
  const record = step.record(stored, sql`false`);
  const t = passwordResetTokens;
  const [row] = await queryRows<{ id: string }>(
    db,
    sql`with held as (${step.held}),
      spent as (${spendUserTokensSql(t, userId, sql`${config.RESET_INVALIDATE_PREVIOUS_TOKENS}::boolean and exists (select 1 from held)`)}),
      inserted as (
        insert into ${t} (user_id, token_hash, created_at, expires_at, request_ip, request_user_agent)
        select ${userId}, ${hash}, ${requestedAt.toISOString()}::timestamptz, ${expiresAt.toISOString()}::timestamptz, ${context.ip}, ${context.userAgent}
        from held returning id)
      ${record ? sql`, recorded as (${record})` : sql``}
      select id from inserted`,
  );
  if (!row) throw new LeaseLost("reset-link");
  const link = { token, tokenId: row.id, requestedAt: requestedAt.toISOString() };
  step.recorded({ ...link, token: sealedToken }, false);
  return link;
}

/**
 * Creates a reset token for `user` and emails the link (built from APP_URL only, never from
 * Host or X-Forwarded-Host). The token is made once per job and kept sealed between attempts,
 * so every retry sends the same email under the same idempotency key. Records each failed
 * attempt, then throws it (lib/jobs/errors.ts) for the runner to retry or abandon.
 */
async function issueResetLinkUntraced(
  db: Database,
  user: { id: string; email: string },
  context: RequestContext,
  steps: JobSteps = RUN_ONCE,
  made?: ResetLink,
): Promise<void> {
  const link = steps.completed<ResetLink>("reset-link") ?? made ?? (await createResetLink(db, user.id, context, steps));

  const sent = await sendEmail({
    to: user.email,
    subject: resetPasswordSubject,
    react: resetEmail(link.token, new Date(link.requestedAt), context.ip),
    idempotencyKey: `password-reset/${link.tokenId}`,
  });
  const entry = { email: user.email, ip: context.ip, userAgent: context.userAgent, userId: user.id };
  if (sent.ok) {
    const sentEntry = { event: "password_reset.email_sent", ...entry, details: { token_id: link.tokenId } } as const;
    if (!steps.claim) await audit(db, sentEntry);
    else {
      // The audit row and the end of the job in one statement, shared with the jobs whose emails went out beside it.
      if (!(await endSentJob(db, { claim: steps.claim, ...entry, tokenId: link.tokenId }))) throw new LeaseLost("end");
      recordStep(steps.claim, "end", {}, [], true);
      noteAudited(sentEntry);
    }
    return;
  }
  if (!sent.paced) {
    log("error", "password_reset.email_failed", { userId: user.id, tokenId: link.tokenId, reason: sent.reason });
    await audit(db, { event: "password_reset.email_failed", ...entry, details: { token_id: link.tokenId, reason: sent.reason } });
  }
  throw sendFailure(sent);
}

type SentJob = { claim: Claim; userId: string; tokenId: string } & { email: string } & RequestContext;

/**
 * Ends reset-link jobs whose emails went out: each one's "email_sent" audit row and the end of
 * the job (its payload erased), in one statement for the jobs that got there in the same turn
 * (the jobs of one batch send side by side). Answers, per job, whether it was still held; a job
 * taken over by another instance is left to it.
 */
const endSentJob = batchedPerDatabase(async (db: Database, sent: readonly SentJob[]): Promise<boolean[]> => {
  const input = sent.map((job, n) => ({
    n,
    job_id: job.claim.job.id,
    claim_id: job.claim.claimId,
    user_id: job.userId,
    fp: emailFingerprint(job.email),
    ip: job.ip,
    user_agent: job.userAgent,
    token_id: job.tokenId,
  }));
  const rows = await queryRows<{ n: number }>(
    db,
    sql`with ${heldInputSql(input, "n int, job_id uuid, claim_id uuid, user_id text, fp text, ip text, user_agent text, token_id text")},
      ended as (${stepsRecordSql(sql`select job_id, claim_id, true, '{}'::jsonb from held`)}),
      audited as (${auditInsertSql(
        {
          event: "password_reset.email_sent",
          userId: sql`held.user_id`,
          email: sql`held.fp`,
          ip: sql`held.ip`,
          userAgent: sql`held.user_agent`,
          details: sql`jsonb_build_object('token_id', held.token_id)`,
        },
        sql`from held`,
      )})
      select n from held`,
  );
  const held = new Set(rows.map((row) => row.n));
  return sent.map((_, n) => held.has(n));
});

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
  return { status: "valid", maskedEmail: maskEmail(found.email), expiresAt: found.expiresAt, secondFactorRequired: found.twoFactor };
}

type FoundToken =
  | { status: "valid"; userId: string; email: string; passwordHash: string | null; twoFactor: boolean; expiresAt: Date }
  | { status: TokenProblem; userId?: string };

async function findToken(db: Database, token: string): Promise<FoundToken> {
  const { lookup, user } = await lookUpTokenAndUser(db, passwordResetTokens, token);
  if (lookup.status !== "valid") return lookup;
  if (!user) return { status: "invalid" };
  return { status: "valid", userId: lookup.userId, email: user.email, passwordHash: user.passwordHash, twoFactor: user.twoFactor, expiresAt: lookup.expiresAt };
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
 * Everything a consumed token sets off, as CTEs following a `consumed` CTE (the token's id, or
 * no row when nothing was consumed, and then nothing happens): the new hash (a forced reset
 * ends, the address counts as confirmed), every other link of the user spent, every session
 * ended, both audit rows, and the "your password was changed" job, which commits with the
 * change. The statement's select reads `changed`, `revoked` and `queued`.
 */
function resetChangesSql(userId: string, passwordHash: string, input: RequestContext): SQL {
  const t = passwordResetTokens;
  const tokenId = sql`(select id from consumed)`;
  const wasConsumed = sql`exists (select 1 from consumed)`;
  const context = { userId: sql`changed.id`, ip: input.ip, userAgent: input.userAgent };
  const completed = { event: "password_reset.completed", ...context, details: sql`jsonb_build_object('token_id', ${tokenId})` } as const;
  const revoked = { event: "sessions.revoked", ...context, details: sql`jsonb_build_object('count', (select count(*) from revoked), 'reason', 'password_reset')` } as const;
  const notice = sql`jsonb_build_object('userId', changed.id, 'email', changed.email, 'changedAt', changed.password_changed_at, 'ip', ${input.ip}::text, 'userAgent', ${input.userAgent}::text)`;
  return sql`changed as (
        update ${users} set password_hash = ${passwordHash}, password_changed_at = now(), credentials_version = ${nextCredentialsVersion()},
          password_reset_forced_at = null, retired_password_hash = null, email_verified_at = coalesce(${users.emailVerified}, now())
        where ${users.id} = ${userId} and ${wasConsumed} returning id, email, password_changed_at),
      spent as (${spendUserTokensSql(t, userId, sql`${wasConsumed} and ${t.id} <> ${tokenId}`)}),
      revoked as (${deleteUserSessionsSql(userId, wasConsumed)}),
      completed as (${auditInsertSql(completed, sql`from changed`)}),
      revoked_audit as (${auditInsertSql(revoked, sql`from changed`)}),
      queued as (${jobInsertSql("password_changed.notify", notice, sql`from changed`)})`;
}

type ChangeRow = { token_id: string | null; user_id: string | null; revoked: number; job_id: string | null };
const changeColumns = sql`(select id from consumed) as token_id, (select id from changed) as user_id, (select count(*) from revoked)::int as revoked, (select id from queued) as job_id`;

/**
 * What follows a reset's statement in this process, when it changed the password: its metrics,
 * log lines and the notice job. Answers whether it did.
 */
function noteResetChanged(db: Database, row: ChangeRow | undefined, input: RequestContext, schedule: Schedule): boolean {
  if (!row?.token_id || !row.user_id || !row.job_id) return false;
  const entry = { ip: input.ip, userAgent: input.userAgent, userId: row.user_id };
  noteAudited({ ...entry, event: "password_reset.completed", details: { token_id: row.token_id } });
  noteAudited({ ...entry, event: "sessions.revoked", details: { count: row.revoked, reason: "password_reset" } });
  scheduleJob(db, row.job_id, schedule);
  return true;
}

/** The reset's changes for a token consumed earlier in transaction `tx`. */
async function setResetPassword(
  db: Database,
  tx: Transaction,
  consumed: { id: string; userId: string },
  passwordHash: string,
  input: RequestContext,
  schedule: Schedule,
): Promise<void> {
  const t = passwordResetTokens;
  const [row] = await queryRows<ChangeRow>(
    tx,
    sql`with consumed as (select ${t.id} as id from ${t} where ${t.id} = ${consumed.id}),
      ${resetChangesSql(consumed.userId, passwordHash, input)}
      select ${changeColumns}`,
  );
  if (!noteResetChanged(db, row, input, schedule)) throw new Error("reset token points at a missing user");
}

/**
 * The whole reset of an account without a second factor in ONE statement, atomic without a
 * transaction: the user row locked first (the lock order every credential change keeps), the
 * token consumed only while that account still has no second factor, then every change.
 * Null when the token was no longer there to consume; SECOND_FACTOR_REQUIRED when a second
 * factor was turned on since the link was looked up (nothing changes then).
 */
export async function consumeAndChangeAtOnce(
  db: Database,
  input: { token: string; userId: string; passwordHash: string } & RequestContext,
  schedule: Schedule,
): Promise<{ ok: true } | { ok: false; code: "SECOND_FACTOR_REQUIRED" } | null> {
  if (!isWellFormedToken(input.token)) return null;
  const [row] = await queryRows<ChangeRow & { two_factor: boolean | null }>(
    db,
    sql`with owner as (select ${users.id} as id, ${users.twoFactorEnabledAt} is not null as two_factor from ${users} where ${users.id} = ${input.userId} for no key update),
      consumed as (${consumeTokenSql(passwordResetTokens, input.token, sql`(select id from owner where not two_factor)`)}),
      ${resetChangesSql(input.userId, input.passwordHash, input)}
      select ${changeColumns}, (select two_factor from owner) as two_factor`,
  );
  if (noteResetChanged(db, row, input, schedule)) return { ok: true };
  if (row?.two_factor) return { ok: false, code: "SECOND_FACTOR_REQUIRED" };
  return null;
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
  const secondFactor = found.twoFactor;
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
  if (!secondFactor) {
    outcome = await consumeAndChangeAtOnce(db, { ...input, userId: found.userId, passwordHash: hashed.hash }, schedule);
  } else {
    try {
      outcome = await consumeAndChange(db, { ...input, userId: found.userId, passwordHash: hashed.hash }, schedule);
    } catch (error) {
      if (!(error instanceof RollBack)) throw error;
      outcome = error.result;
    }
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
 * The reset's one transaction for an account with a second factor: consume the token, check
 * the code, set the password, end the sessions. Null when the token was no longer there to
 * consume; throws RollBack when the second factor refused (the token's consumption is undone
 * with it).
 */
async function consumeAndChange(
  db: Database,
  input: { token: string; userId: string; passwordHash: string } & SecondFactorInput & RequestContext,
  schedule: Schedule,
): Promise<{ ok: true } | null> {
  return db.transaction(async (tx) => {
    // The user row first, as every credential change does (see lockUser), then the token: one
    // statement, the lock taken by its init plan before the token row is touched. No deadlocks.
    const consumed = await consumeToken(tx, passwordResetTokens, input.token, lockUserSql(input.userId));
    if (!consumed) return null;

    // Checked (and spent) in the transaction that consumes the token: a wrong code rolls the
    // token back, so the link still works; a right one is spent only together with the change.
    // (An account whose second factor was turned off meanwhile is checked against none.)
    let recoveryCodesLeft: number | undefined;
    if (await hasTwoFactor(tx, consumed.userId)) {
      const checked = await checkSecondFactor(tx, consumed.userId, input);
      if (!checked.ok) throw new RollBack({ ok: false, code: checked.code === "NOT_ENABLED" ? "SECOND_FACTOR_REQUIRED" : "INVALID_CODE" });
      if (checked.method === "recovery_code") recoveryCodesLeft = checked.recoveryCodesLeft ?? 0;
    }

    await setResetPassword(db, tx, consumed, input.passwordHash, input, schedule);
    if (recoveryCodesLeft !== undefined) {
      await recordRecoveryCodeUse(db, tx, schedule, { userId: consumed.userId, recoveryCodesLeft, ip: input.ip, userAgent: input.userAgent });
    }
    return { ok: true } as const;
  });
}

// Each step of the reset flow is a span when tracing is on (instrumentation.ts).
export const requestPasswordReset = traced("password_reset.request", requestPasswordResetUntraced);
export const deliverPasswordReset = traced("password_reset.deliver", deliverPasswordResetUntraced);
export const decidePasswordResetJobs = traced("password_reset.decide_jobs", decidePasswordResetJobsUntraced);
export const issueResetLink = traced("password_reset.issue_link", issueResetLinkUntraced);
export const inspectResetToken = traced("password_reset.inspect_token", inspectResetTokenUntraced);
export const resetPassword = traced("password_reset.complete", resetPasswordUntraced);
