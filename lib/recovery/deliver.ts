import "server-only";
import { sql } from "drizzle-orm";
import { createElement } from "react";
import { queryRows, type Database } from "@/db/client";
import { passwordResetTokens } from "@/db/schema";
import { formatEmailTime } from "@/emails/layout";
import ResetPasswordEmail, { resetPasswordSubject } from "@/emails/reset-password";
import { audit, auditInsertSql, noteAudited } from "../audit";
import { batchedPerDatabase } from "../batch";
import type { RequestContext } from "../client-ip";
import { env } from "../env";
import { failedSend } from "../jobs/errors";
import { LeaseLost } from "../jobs/queue";
import { seal } from "../jobs/seal";
import { heldInputSql, RUN_ONCE, stepsRecordSql, type HeldJob, type JobSteps } from "../jobs/steps";
import { sendEmail } from "../mail";
import { spendUserTokensSql } from "../single-use-tokens";
import { emailFingerprint, generateToken } from "../tokens";
import { traced } from "../tracing";
import { normalizeEmail } from "../validation/fields";
import { decideRequests, type Decision, type DecisionWithLink, type ResetLink } from "./decide";

/**
 * The deferred half of a request (the "password_reset.request" job). Throws when the work
 * should be tried again; the limit, look-up and audit are done once per job, not per attempt.
 */
async function deliverPasswordResetUntraced(
  db: Database,
  input: { email: string } & RequestContext,
  steps: JobSteps = RUN_ONCE,
): Promise<void> {
  const email = normalizeEmail(input.email);
  const decided: DecisionWithLink | undefined =
    steps.completed<Decision>("decide") ?? (await decideRequests(db, [{ steps, email, ip: input.ip, userAgent: input.userAgent }]))[0];
  if (!decided) throw new LeaseLost("decide");
  // No stand-in work for an unknown address: an email costs microseconds (lib/mail/templates.ts),
  // too little to tell the paths apart, and the answer went out before either ran.
  if (!decided.throttled && decided.userId) await issueResetLink(db, { id: decided.userId, email }, input, steps, decided.link);
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
  const stored = sql`(
    select jsonb_build_object('token', ${sealedToken}::text, 'tokenId', id, 'requestedAt', ${requestedAt.toISOString()}::text) from inserted)`;
  const record = step.record(stored, sql`false`);
  const t = passwordResetTokens;
  const [row] = await queryRows<{ id: string }>(
    db,
    sql`with held as (${step.held}),
      spent as (${spendUserTokensSql(t, userId, sql`${config.RESET_INVALIDATE_PREVIOUS_TOKENS}::boolean and exists (select 1 from held)`)}),
      inserted as (
        insert into ${t} (user_id, token_hash, created_at, expires_at, request_ip, request_user_agent)
        select ${userId}, ${hash}, ${requestedAt.toISOString()}::timestamptz, ${expiresAt.toISOString()}::timestamptz,
          ${context.ip}, ${context.userAgent}
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
  if (!sent.ok) {
    throw await failedSend(sent, "password_reset.email_failed", { userId: user.id, tokenId: link.tokenId }, () =>
      audit(db, { event: "password_reset.email_failed", ...entry, details: { token_id: link.tokenId, reason: sent.reason } }),
    );
  }
  const sentEntry = { event: "password_reset.email_sent", ...entry, details: { token_id: link.tokenId } } as const;
  if (!steps.job) return audit(db, sentEntry);
  // The audit row and the end of the job in one statement, shared with the jobs whose emails went out beside it.
  if (!(await endSentJob(db, { job: steps.job, ...entry, tokenId: link.tokenId }))) throw new LeaseLost("end");
  steps.recorded("end", {}, [], true);
  noteAudited(sentEntry);
}

type SentJob = { job: HeldJob; userId: string; tokenId: string } & { email: string } & RequestContext;

/**
 * Ends reset-link jobs whose emails went out: each one's "email_sent" audit row and the end of
 * the job (its payload erased), in one statement for the jobs that got there in the same turn
 * (the jobs of one batch send side by side). Answers, per job, whether it was still held; a job
 * taken over by another instance is left to it.
 */
const endSentJob = batchedPerDatabase(async (db: Database, sent: readonly SentJob[]): Promise<boolean[]> => {
  const input = sent.map((job, n) => ({
    n,
    job_id: job.job.jobId,
    claim_id: job.job.claimId,
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

export const deliverPasswordReset = traced("password_reset.deliver", deliverPasswordResetUntraced);
export const issueResetLink = traced("password_reset.issue_link", issueResetLinkUntraced);
