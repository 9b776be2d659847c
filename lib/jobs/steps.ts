import "server-only";
import { sql, type SQL } from "drizzle-orm";
import type { Database } from "@/db/client";
import { jobs } from "@/db/schema";
import { batchRowsSql } from "../batch";
import { PermanentJobError } from "./errors";
import { saveJobPayload, type Claim, type JobPayload } from "./queue";
import { seal, unseal } from "./seal";

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
  /**
   * What a statement that does a step for many jobs at once records for this job, in process,
   * once it has committed (see heldInputSql and stepsRecordSql); `ended` when it ended the job.
   */
  recorded(name: string, values: StepValues, secret: string[], ended: boolean): void;
  /** True once a statement step ended the job itself: the runner has nothing left to finish. */
  readonly ended: boolean;
  /** The job these steps are of, as heldInputSql's rows name it; null for work run directly. */
  readonly job: HeldJob | null;
}

/** A job this instance holds, as a statement that records steps of many jobs names it. */
export interface HeldJob {
  jobId: string;
  claimId: string;
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
  recorded: () => {},
  ended: false,
  job: null,
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
 * (batchRowsSql, with `columns` that have job_id uuid and claim_id uuid), and `held`, those rows
 * whose job this instance still holds under that claim (a row without a job always).
 */
export function heldInputSql(rows: object[], columns: string): SQL {
  return sql`input as (${batchRowsSql(rows, columns)}),
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
function stepRecordSql(name: string, secret: string[], rows: SQL): SQL {
  return stepsRecordSql(
    sql`select r.job_id, r.claim_id, r.ended, ${stepJsonSql(name, secret, sql`r.v`)} from (${rows}) r(job_id, claim_id, ended, v)`,
  );
}

/** `payload` with step `name` saved (`secret` naming its sealed fields), as a job keeps it. */
function withStep(payload: JobPayload | null, name: string, values: StepValues, secret: string[]): JobPayload {
  return { ...payload, steps: { ...(payload?.steps as StoredSteps | undefined), [name]: { values, sealed: secret } } };
}

/** Keeps `claim` in step with what stepRecordSql stored for it: step `name` saved, or the job ended. */
function recordStep(claim: Claim, name: string, values: StepValues, secret: string[], ended: boolean): void {
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
    job: { jobId: claim.job.id, claimId: claim.claimId },
    completed,
    recorded: (name, values, secret, ended) => recordStep(claim, name, values, secret, ended),
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
