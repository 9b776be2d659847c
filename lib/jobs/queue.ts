import "server-only";
import { randomUUID } from "node:crypto";
import { and, eq, inArray, lt, lte, or, sql, type SQL } from "drizzle-orm";
import { queryRows, type Database, type Transaction } from "@/db/client";
import { jobs, type Job } from "@/db/schema";
import { batchedPerDatabase, batchRowsSql, groupPositions } from "../batch";
import { env } from "../env";
import { countEachHitSql, hitOutcome, type RateLimit, type RateLimitResult } from "../rate-limit";
import type { JobDefinition, Schedule } from "./definition";

export type JobPayload = Record<string, unknown>;

/**
 * The INSERT of one pending job of `job`'s kind returning its id (a statement or a CTE body);
 * the payload (and the id, when the caller draws it) is SQL built in the statement. `from`
 * makes it conditional: no row there, no job; a `from` of many rows inserts a job for each.
 * Hand the id to a Schedule once the statement has committed.
 */
export function jobInsertSql(job: Pick<JobDefinition, "kind">, payload: SQL, from: SQL = sql``, id?: SQL): SQL {
  if (id) return sql`insert into ${jobs} (id, kind, payload) select ${id}, ${job.kind}, ${payload} ${from} returning id`;
  return sql`insert into ${jobs} (kind, payload) select ${job.kind}, ${payload} ${from} returning id`;
}

/**
 * Persists a job of `job`'s kind, then asks `schedule` to run it once the answer has gone out.
 * If this instance dies first, the poller or the drain cron of any instance runs it. Pass
 * `within` to write the job in the transaction whose change it follows, so that the change
 * and its work commit together (a crash in between loses neither); it is scheduled at once
 * all the same, and a run that comes before the commit finds nothing to claim yet (the poller
 * takes it then).
 */
export async function enqueueJob<Input>(
  db: Database,
  job: JobDefinition<unknown, Input>,
  payload: Input,
  schedule: Schedule,
  within?: Transaction,
): Promise<string> {
  const [row] = await queryRows<{ id: string }>(within ?? db, jobInsertSql(job, sql`${JSON.stringify(payload)}::jsonb`));
  if (!row) throw new Error("job insert returned no row");
  schedule(db, row.id);
  return row.id;
}

/**
 * Counts one hit against `limit` for `subject` and, only if it is within the limit, persists
 * the job and schedules it as enqueueJob does. The calls of one turn of the event loop (a flood's
 * requests, read together) share one statement, each counted in its place as if they had come
 * one by one: one round trip and one commit for the lot, not one each.
 */
export async function enqueueJobWithinLimit<Input>(
  db: Database,
  job: JobDefinition<unknown, Input>,
  payload: Input,
  schedule: Schedule,
  limit: RateLimit,
  subject: string,
): Promise<RateLimitResult> {
  const { outcome, jobId } = await enqueueWithinLimits(db, { kind: job.kind, payload, limit, subject });
  if (jobId) schedule(db, jobId);
  return outcome;
}

type LimitedJob = { kind: string; payload: unknown; limit: RateLimit; subject: string };

/**
 * enqueueJobWithinLimit's statement for a turn's calls: one per kind and limit (in practice one).
 * The jobs' ids are drawn here, so that each call learns its own from the one statement.
 */
const enqueueWithinLimits = batchedPerDatabase(async (db: Database, calls: readonly LimitedJob[]) => {
  const answers: { outcome: RateLimitResult; jobId: string | null }[] = [];
  const ids = calls.map(() => randomUUID());
  await Promise.all(
    groupPositions(calls, ({ kind, limit }) => JSON.stringify([kind, limit])).map(async (members) => {
      const { kind, limit } = calls[members[0]!]!;
      const input = members.map((n) => ({ n, id: ids[n], subject: calls[n]!.subject, payload: calls[n]!.payload }));
      const within = sql`from counted where counted.count <= ${limit.max} order by counted.n`;
      const rows = await queryRows<{ n: number; count: number; retry_after_seconds: number }>(
        db,
        sql`with input as (${batchRowsSql(input, "n int, id uuid, subject text, payload jsonb")}),
          ${countEachHitSql(limit, sql`input`, sql`input.subject`)},
          queued as (${jobInsertSql({ kind }, sql`counted.payload`, within, sql`counted.id`)})
          select n, count::int, retry_after_seconds from counted`,
      );
      for (const row of rows) {
        const outcome = hitOutcome(limit, row);
        answers[row.n] = { outcome, jobId: outcome.allowed ? ids[row.n]! : null };
      }
    }),
  );
  return calls.map((_, n) => {
    const answer = answers[n];
    if (!answer) throw new Error("rate limit upsert returned no row");
    return answer;
  });
});

export interface Claim {
  job: Job;
  /** Proves the claim in every later write; a job taken over after its lease is no longer ours. */
  claimId: string;
  /** Set once a step ended the job itself (JobSteps.statement, or a batch step for many claims). */
  ended?: boolean;
}

/**
 * Claims up to `limit` due jobs (of `ids`, when given) in one statement: pending and due, or
 * running with an expired lease (its instance died). SKIP LOCKED lets many instances claim
 * side by side. One claim id proves the lot.
 */
export async function claimJobs(db: Database, { ids, limit }: { ids?: string[]; limit: number }): Promise<Claim[]> {
  const claimId = randomUUID();
  const due = or(
    and(eq(jobs.status, "pending"), lte(jobs.runAt, sql`now()`)),
    and(eq(jobs.status, "running"), lt(jobs.lockedUntil, sql`now()`)),
  );
  // Ids are uuids this instance inserted; one array parameter keeps the statement's text (and
  // so its prepared plan) the same for any number of them.
  const candidate = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(ids ? and(sql`${jobs.id} = any(${`{${ids.join(",")}}`}::uuid[])`, due) : due)
    .orderBy(jobs.runAt)
    .limit(limit)
    .for("update", { skipLocked: true });
  const claimed = await db
    .update(jobs)
    .set({
      status: "running",
      attempts: sql`${jobs.attempts} + 1`,
      claimId,
      lockedUntil: sql`now() + make_interval(secs => ${env().JOBS_LEASE_SECONDS})`,
    })
    .where(inArray(jobs.id, candidate))
    .returning();
  return claimed.map((job) => ({ job, claimId }));
}

/** Thrown when a job's lease ran out and another instance took it over. */
export class LeaseLost extends Error {
  override name = "LeaseLost";
}

const held = (claim: Claim) => and(eq(jobs.id, claim.job.id), eq(jobs.claimId, claim.claimId));

/** Replaces the payload of a job this instance holds. */
export async function saveJobPayload(db: Database, claim: Claim, payload: JobPayload): Promise<void> {
  const updated = await db.update(jobs).set({ payload }).where(held(claim)).returning({ id: jobs.id });
  if (updated.length === 0) throw new LeaseLost(claim.job.id);
}

/** Ends a job. The payload (an address, a sealed token) is erased: nothing is kept past its use. */
export async function finishJob(db: Database, claim: Claim, status: "done" | "failed", error?: string): Promise<void> {
  await db
    .update(jobs)
    .set({ status, payload: null, finishedAt: sql`now()`, claimId: null, lockedUntil: null, lastError: error ?? null })
    .where(held(claim));
}

/** Puts a held job back in the queue to run after `delayMs`; `countsAsAttempt: false` refunds the claim. */
export async function retryJobLater(db: Database, claim: Claim, delayMs: number, error: string, countsAsAttempt: boolean): Promise<void> {
  await db
    .update(jobs)
    .set({
      status: "pending",
      runAt: sql`now() + make_interval(secs => ${Math.max(0, delayMs) / 1000})`,
      attempts: countsAsAttempt ? jobs.attempts : sql`${jobs.attempts} - 1`,
      claimId: null,
      lockedUntil: null,
      lastError: error,
    })
    .where(held(claim));
}

/** Deletes jobs that ended more than `retentionDays` ago. */
export async function deleteFinishedJobs(db: Database, retentionDays: number): Promise<number> {
  const deleted = await db
    .delete(jobs)
    .where(and(inArray(jobs.status, ["done", "failed"]), lt(jobs.finishedAt, sql`now() - make_interval(days => ${retentionDays})`)))
    .returning({ id: jobs.id });
  return deleted.length;
}
