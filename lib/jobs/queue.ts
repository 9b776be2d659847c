import "server-only";
import { randomUUID } from "node:crypto";
import { and, eq, inArray, is, lt, lte, or, SQL, sql } from "drizzle-orm";
import { queryRows, type Database, type Transaction } from "@/db/client";
import { jobs, type Job } from "@/db/schema";
import { env } from "../env";
import type { Schedule } from "../recovery/password-reset";
import { batchedPerDatabase, groupPositions } from "../batch";
import { countEachHitSql, hitOutcome, type RateLimit, type RateLimitResult } from "../rate-limit";
import { PermanentJobError } from "./errors";
import { seal, unseal } from "./seal";

/** Every kind of deferred work; lib/jobs/runner.ts maps each to its handler. */
export type JobKind =
  | "password_reset.request"
  | "registration.complete"
  | "email_verification.request"
  | "password_changed.notify"
  | "password_change.report_reset"
  | "admin.forced_reset"
  | "two_factor.notify";

export type JobPayload = Record<string, unknown>;

/**
 * The INSERT of one pending job returning its id (a statement or a CTE body); the payload (and
 * the id, when the caller draws it) may be SQL built in the statement. `from` makes it
 * conditional: no row there, no job; a `from` of many rows inserts a job for each.
 * Pair it with scheduleJob once the statement has committed.
 */
export function jobInsertSql(kind: JobKind, payload: JobPayload | SQL, from: SQL = sql``, id?: SQL): SQL {
  const value = is(payload, SQL) ? payload : sql`${JSON.stringify(payload)}::jsonb`;
  if (id) return sql`insert into ${jobs} (id, kind, payload) select ${id}, ${kind}, ${value} ${from} returning id`;
  return sql`insert into ${jobs} (kind, payload) select ${kind}, ${value} ${from} returning id`;
}

/** Asks `schedule` (after() in Next) to run job `id` once the answer has gone out. */
export function scheduleJob(db: Database, id: string, schedule: Schedule): void {
  schedule(async () => {
    // Imported late: the runner imports every handler, and the handlers import this module.
    const { runAcceptedJob } = await import("./runner");
    await runAcceptedJob(db, id);
  });
}

/**
 * Persists deferred work, then asks `schedule` (after() in Next) to run it once the answer has
 * gone out. If this instance dies first, the poller or the drain cron of any instance runs it.
 * Pass `within` to write the job in the transaction whose change it follows, so that the
 * change and its work commit together (a crash in between loses neither).
 */
export async function enqueueJob(
  db: Database,
  kind: JobKind,
  payload: JobPayload,
  schedule: Schedule,
  within?: Transaction,
): Promise<string> {
  const [row] = await queryRows<{ id: string }>(within ?? db, jobInsertSql(kind, payload));
  if (!row) throw new Error("job insert returned no row");
  scheduleJob(db, row.id, schedule);
  return row.id;
}

/**
 * Counts one hit against `limit` for `subject` and, only if it is within the limit, persists
 * the job and schedules it as enqueueJob does. The calls of one turn of the event loop (a flood's
 * requests, read together) share one statement, each counted in its place as if they had come
 * one by one: one round trip and one commit for the lot, not one each.
 */
export async function enqueueJobWithinLimit(
  db: Database,
  kind: JobKind,
  payload: JobPayload,
  schedule: Schedule,
  limit: RateLimit,
  subject: string,
): Promise<RateLimitResult> {
  const { outcome, jobId } = await enqueueWithinLimits(db, { kind, payload, limit, subject });
  if (jobId) scheduleJob(db, jobId, schedule);
  return outcome;
}

type LimitedJob = { kind: JobKind; payload: JobPayload; limit: RateLimit; subject: string };

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
      const rows = await queryRows<{ n: number; count: number; retry_after_seconds: number }>(
        db,
        sql`with input as (select * from jsonb_to_recordset(${JSON.stringify(input)}::jsonb) as t(n int, id uuid, subject text, payload jsonb)),
          ${countEachHitSql(limit, sql`input`, sql`input.subject`)},
          queued as (${jobInsertSql(kind, sql`counted.payload`, sql`from counted where counted.count <= ${limit.max} order by counted.n`, sql`counted.id`)})
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

/**
 * Opens a sealed job secret. One that no longer opens (AUTH_SECRET changed, or differs between
 * instances) never will: the job is abandoned rather than retried.
 */
export function unsealOrGiveUp(sealed: string): string {
  try {
    return unseal(sealed);
  } catch {
    throw new PermanentJobError("sealed_secret_unreadable");
  }
}

export type StepValues = Record<string, string | number | boolean | null>;

/**
 * Remembers the result of each step of a job across its attempts, so a retry re-sends the same
 * email (same token, same idempotency key) instead of making a new one. Fields named in
 * `secret` are stored sealed (lib/jobs/seal.ts) and erased with the payload when the job ends.
 */
export interface JobSteps {
  once<T extends StepValues>(name: string, step: () => Promise<T>, secret?: (keyof T & string)[]): Promise<T>;
  /** The values of step `name` if an earlier attempt completed it (sealed fields opened). */
  completed<T extends StepValues>(name: string): T | undefined;
  /**
   * A step that is one SQL statement and records itself in that same statement: the step and
   * its record commit together (a retry never repeats half of it) and cost one round trip.
   */
  statement(name: string, secret?: string[]): StatementStep;
  /** True once a statement step ended the job itself: the runner has nothing left to finish. */
  readonly ended: boolean;
  /** The claim these steps are of; null for work run directly. */
  readonly claim: Claim | null;
}

/** The SQL a statement step (JobSteps.statement) weaves into its statement. */
export interface StatementStep {
  /** A SELECT with one row while this claim still holds the job (always one without a job): guard every write with it. */
  held: SQL;
  /**
   * An UPDATE (a CTE body) that saves `values` (jsonb, secret fields already sealed) as the step,
   * or ends the job as done instead when `end` (boolean) is true; null when no job backs the steps.
   */
  record(values: SQL, end: SQL): SQL | null;
  /** What the statement recorded (as stored), so later steps of this attempt build on it. */
  recorded(values: StepValues, ended: boolean): void;
}

const DIRECT_STATEMENT: StatementStep = { held: sql`select 1`, record: () => null, recorded: () => {} };

/** Steps for work run directly (tests, scripts): nothing to remember. */
export const RUN_ONCE: JobSteps = {
  once: (_name, step) => step(),
  completed: () => undefined,
  statement: () => DIRECT_STATEMENT,
  ended: false,
  claim: null,
};

type StoredSteps = Record<string, { values: StepValues; sealed: string[] }>;

/**
 * An UPDATE (a CTE body) that records steps of every job in `rows`, a SELECT of
 * (job_id, claim_id, ended, steps): it merges `steps` (a jsonb object of step name to
 * stepJsonSql) into the job's record, or ends the job as done when `ended`. Only a job still
 * held under `claim_id` changes. One UPDATE per statement: a statement that does two steps of
 * a job records both here, as a row is updated once per statement.
 */
export function stepsRecordSql(rows: SQL): SQL {
  return sql`update ${jobs} set
      status = case when x.ended then 'done' else ${jobs.status} end,
      payload = case when x.ended then null
        else jsonb_set(coalesce(${jobs.payload}, '{}'::jsonb), '{steps}', coalesce(${jobs.payload} -> 'steps', '{}'::jsonb) || x.steps) end,
      finished_at = case when x.ended then now() else ${jobs.finishedAt} end,
      claim_id = case when x.ended then null else ${jobs.claimId} end,
      locked_until = case when x.ended then null else ${jobs.lockedUntil} end,
      last_error = case when x.ended then null else ${jobs.lastError} end
    from (${rows}) x(job_id, claim_id, ended, steps)
    where ${jobs.id} = x.job_id and ${jobs.claimId} = x.claim_id`;
}

/**
 * The first two CTEs of a statement that does one step for many jobs: `input`, the rows given
 * (read with jsonb_to_recordset as `columns`, a constant list that has job_id uuid and
 * claim_id uuid), and `held`, those rows whose job this instance still holds under that claim
 * (a row without a job always).
 */
export function heldInputSql(rows: object[], columns: string): SQL {
  return sql`input as (select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as t(${sql.raw(columns)})),
    held as (
      select input.* from input
      where input.job_id is null or exists (select 1 from ${jobs} where ${jobs.id} = input.job_id and ${jobs.claimId} = input.claim_id))`;
}

/** Step `name` with `values` (jsonb, `secret` fields already sealed) as stepsRecordSql takes it. */
export function stepJsonSql(name: string, secret: string[], values: SQL): SQL {
  return sql`jsonb_build_object(${name}::text, jsonb_build_object('values', ${values}, 'sealed', ${JSON.stringify(secret)}::jsonb))`;
}

/**
 * An UPDATE (a CTE body) that records step `name` of every job in `rows`, a SELECT of
 * (job_id, claim_id, ended, v): it saves `v` (jsonb, `secret` fields already sealed) as the
 * step, or ends the job as done when `ended`. Only a job still held under `claim_id` changes.
 */
export function stepRecordSql(name: string, secret: string[], rows: SQL): SQL {
  return stepsRecordSql(sql`select r.job_id, r.claim_id, r.ended, ${stepJsonSql(name, secret, sql`r.v`)} from (${rows}) r(job_id, claim_id, ended, v)`);
}

/** `payload` with step `name` saved (`secret` naming its sealed fields), as a job keeps it. */
function withStep(payload: JobPayload | null, name: string, values: StepValues, secret: string[]): JobPayload {
  return { ...payload, steps: { ...(payload?.steps as StoredSteps | undefined), [name]: { values, sealed: secret } } };
}

/** Keeps `claim` in step with what stepRecordSql stored for it: step `name` saved, or the job ended. */
export function recordStep(claim: Claim, name: string, values: StepValues, secret: string[], ended: boolean): void {
  if (ended) {
    claim.ended = true;
    claim.job.payload = null;
  } else claim.job.payload = withStep(claim.job.payload, name, values, secret);
}

/** The steps of a claimed job, persisted in its payload under "steps". */
export function jobSteps(db: Database, claim: Claim): JobSteps {
  const stored = (): StoredSteps => (claim.job.payload?.steps ?? {}) as StoredSteps;
  const completed = <T extends StepValues>(name: string): T | undefined => {
    const done = stored()[name];
    if (!done) return undefined;
    const values = { ...done.values };
    for (const field of done.sealed) values[field] = unsealOrGiveUp(String(values[field]));
    return values as T;
  };
  return {
    get ended() {
      return claim.ended === true;
    },
    claim,
    completed,
    async once<T extends StepValues>(name: string, step: () => Promise<T>, secret: (keyof T & string)[] = []): Promise<T> {
      const done = completed<T>(name);
      if (done) return done;
      const values = await step();
      const kept: StepValues = { ...values };
      for (const field of secret) kept[field] = seal(String(values[field]));
      const next = withStep(claim.job.payload, name, kept, secret);
      await saveJobPayload(db, claim, next);
      claim.job.payload = next;
      return values;
    },
    statement(name: string, secret: string[] = []): StatementStep {
      const { id } = claim.job;
      return {
        held: sql`select 1 from ${jobs} where id = ${id} and claim_id = ${claim.claimId}`,
        record: (values, end) =>
          stepRecordSql(name, secret, sql`select ${id}::uuid, ${claim.claimId}::uuid, coalesce(${end}, false), ${values}`),
        recorded: (values, hasEnded) => recordStep(claim, name, values, secret, hasEnded),
      };
    },
  };
}
