import "server-only";
import { sql } from "drizzle-orm";
import type { Database } from "@/db/client";
import { queryRows } from "@/db/client";
import { passwordResetTokens, users } from "@/db/schema";
import { auditInsertSql, noteAudited, noteRefusalContinuing } from "../audit";
import type { RequestContext } from "../client-ip";
import { env } from "../env";
import type { BatchedJob } from "../jobs/definition";
import { seal } from "../jobs/seal";
import { heldInputSql, stepJsonSql, stepsRecordSql, type JobSteps } from "../jobs/steps";
import { countEachHitSql, type RateLimit } from "../rate-limit";
import { spendUserTokensSql } from "../single-use-tokens";
import { emailFingerprint, generateToken } from "../tokens";
import { traced } from "../tracing";
import { normalizeEmail } from "../validation/fields";

// The decision about a batch of reset requests is ONE statement: the bench measured what it
// buys (docs/decisions/003-one-statement-per-answer.md). Its CTEs are its named steps:
// count, look up, spend and insert tokens, audit, record each job's step.

const INPUT_COLUMNS =
  "n int, job_id uuid, claim_id uuid, email text, fp text, ip text, user_agent text, token_hash text, sealed_token text";

const emailLimit = (): RateLimit => ({ name: "reset-email", max: env().RESET_REQUESTS_PER_EMAIL_PER_HOUR, windowSeconds: 60 * 60 });

export type Decision = { userId: string | null; throttled: boolean };
/** A reset link as a job keeps it (the token sealed while stored). */
export type ResetLink = { token: string; tokenId: string; requestedAt: string };
/** A decision as decideRequests answers it: with the reset link it made for a known address. */
export type DecisionWithLink = Decision & { link?: ResetLink };

type DecideRequest = { steps: JobSteps; email: string } & RequestContext;

/**
 * The first step of many "password_reset.request" jobs claimed together (their batch step), in
 * one statement (decideRequests); each job then runs on (its decision recorded) or has ended.
 */
async function decideResetRequestsUntraced(db: Database, jobs: BatchedJob<{ email: string } & RequestContext>[]): Promise<void> {
  const requests = jobs
    .filter(({ steps }) => !steps.completed("decide"))
    .map(({ payload, steps }) => ({ steps, email: normalizeEmail(payload.email), ip: payload.ip, userAgent: payload.userAgent }));
  if (requests.length > 0) await decideRequests(db, requests);
}

export const decideResetRequests = traced("password_reset.decide_jobs", decideResetRequestsUntraced);

/**
 * For each request: the per-email limit (counted for every address, existing or not, and
 * invisible to the requester), the look-up and its audit row and, for a known address within
 * its limit, the reset token, all in ONE statement for the lot that also records each decision
 * (and its token, sealed) in its job, or ends the job when nothing is left to do (a throttled
 * or unknown address): a retry never counts, audits or makes a token twice, and a batch costs
 * one round trip whatever its addresses. Answers each request's decision; none for a job whose
 * claim was lost.
 */
export async function decideRequests(db: Database, requests: DecideRequest[]): Promise<(DecisionWithLink | undefined)[]> {
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
    job_id: r.steps.job?.jobId ?? null,
    claim_id: r.steps.job?.claimId ?? null,
    email: r.email,
    fp: emailFingerprint(r.email),
    ip: r.ip,
    user_agent: r.userAgent,
    token_hash: tokens[n]!.hash,
    sealed_token: sealedTokens[n],
  }));
  const context = { email: sql`decision.fp`, ip: sql`decision.ip`, userAgent: sql`decision.user_agent` };
  const t = passwordResetTokens;
  const onlyNewest = sql`${config.RESET_INVALIDATE_PREVIOUS_TOKENS}::boolean`;
  const decideStep = stepJsonSql("decide", [], sql`jsonb_build_object('userId', user_id, 'throttled', throttled)`);
  const link = sql`jsonb_build_object('token', sealed_token, 'tokenId', token_id, 'requestedAt', ${requestedAt.toISOString()}::text)`;
  const linkStep = stepJsonSql("reset-link", ["token"], link);
  // Each request's own count is the bucket's count before the batch plus its place among the
  // batch's requests for the address (countEachHitSql).
  const rows = await queryRows<{ n: number; throttled: boolean; refused: number; user_id: string | null; token_id: string | null }>(
    db,
    sql`with ${heldInputSql(input, INPUT_COLUMNS)},
      ${countEachHitSql(limit, sql`held`, sql`held.fp`)},
      decision as (
        select counted.*, counted.count > ${limit.max} as throttled, counted.count - ${limit.max} as refused,
          (select ${users.id} from ${users}
            where ${users.email} = counted.email and ${users.deletionRequestedAt} is null) as user_id
        from counted),
      linked as (
        select decision.*, row_number() over (partition by decision.user_id order by decision.n desc) > 1 as superseded
        from decision where not decision.throttled and decision.user_id is not null),
      spent as (${spendUserTokensSql(t, { userIds: sql`select user_id from linked` }, onlyNewest)}),
      -- When only the newest link may work, a user's earlier requests in this batch get theirs spent at once.
      inserted as (
        insert into ${t} (user_id, token_hash, created_at, expires_at, request_ip, request_user_agent, used_at)
        select user_id, token_hash, ${requestedAt.toISOString()}::timestamptz, ${expiresAt.toISOString()}::timestamptz, ip, user_agent,
          case when ${config.RESET_INVALIDATE_PREVIOUS_TOKENS}::boolean and superseded then now() end
        from linked returning id, token_hash),
      outcome as (
        select decision.*, inserted.id as token_id from decision left join inserted on inserted.token_hash = decision.token_hash),
      requested as (${auditInsertSql(
        {
          event: "password_reset.requested",
          ...context,
          userId: sql`decision.user_id`,
          details: sql`jsonb_build_object('account_exists', decision.user_id is not null)`,
        },
        sql`from decision where not decision.throttled`,
      )}),
      throttled as (${auditInsertSql(
        { event: "password_reset.throttled", ...context, details: { limit: "email" } },
        sql`from decision where decision.throttled and decision.refused = 1`,
      )}),
      recorded as (${stepsRecordSql(
        sql`select job_id, claim_id, token_id is null, ${decideStep}
          || case when token_id is null then '{}'::jsonb
            else ${linkStep} end
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
    if (!decision.throttled)
      noteAudited({
        event: "password_reset.requested",
        ...context,
        userId: decision.userId,
        details: { account_exists: Boolean(decision.userId) },
      });
    else if (row.refused === 1) noteAudited({ event: "password_reset.throttled", ...context, details: { limit: "email" } });
    else noteRefusalContinuing({ event: "password_reset.throttled", ...context, details: { limit: "email" } }, row.refused);
    request.steps.recorded("decide", decision, [], !link);
    if (link) request.steps.recorded("reset-link", { ...link, token: sealedTokens[row.n]! }, ["token"], false);
  }
  return decisions;
}
