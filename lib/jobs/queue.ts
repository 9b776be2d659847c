import "server-only";
import { randomUUID } from "node:crypto";
import { and, eq, inArray, lt, lte, or, sql } from "drizzle-orm";
import type { Database, Transaction } from "@/db/client";
import { jobs, type Job } from "@/db/schema";
import { env } from "../env";
import type { Schedule } from "../password-reset";
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
  const [row] = await (within ?? db).insert(jobs).values({ kind, payload }).returning({ id: jobs.id });
  if (!row) throw new Error("job insert returned no row");
  schedule(async () => {
    // Imported late: the runner imports every handler, and the handlers import this module.
    const { runJob } = await import("./runner");
    await runJob(db, row.id);
  });
  return row.id;
}

export interface Claim {
  job: Job;
  /** Proves the claim in every later write; a job taken over after its lease is no longer ours. */
  claimId: string;
}

/**
 * Claims one due job (or the job `id`, if it is due): pending and due, or running with an
 * expired lease (its instance died). SKIP LOCKED lets many instances claim side by side.
 */
export async function claimJob(db: Database, id?: string): Promise<Claim | null> {
  const claimId = randomUUID();
  const due = or(
    and(eq(jobs.status, "pending"), lte(jobs.runAt, sql`now()`)),
    and(eq(jobs.status, "running"), lt(jobs.lockedUntil, sql`now()`)),
  );
  const candidate = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(id ? and(eq(jobs.id, id), due) : due)
    .orderBy(jobs.runAt)
    .limit(1)
    .for("update", { skipLocked: true });
  const [job] = await db
    .update(jobs)
    .set({
      status: "running",
      attempts: sql`${jobs.attempts} + 1`,
      claimId,
      lockedUntil: sql`now() + make_interval(secs => ${env().JOBS_LEASE_SECONDS})`,
    })
    .where(inArray(jobs.id, candidate))
    .returning();
  return job ? { job, claimId } : null;
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

type StepValues = Record<string, string | number | boolean | null>;

/**
 * Remembers the result of each step of a job across its attempts, so a retry re-sends the same
 * email (same token, same idempotency key) instead of making a new one. Fields named in
 * `secret` are stored sealed (lib/jobs/seal.ts) and erased with the payload when the job ends.
 */
export interface JobSteps {
  once<T extends StepValues>(name: string, step: () => Promise<T>, secret?: (keyof T & string)[]): Promise<T>;
}

/** Steps for work run directly (tests, scripts): nothing to remember. */
export const RUN_ONCE: JobSteps = { once: (_name, step) => step() };

type StoredSteps = Record<string, { values: StepValues; sealed: string[] }>;

/** The steps of a claimed job, persisted in its payload under "steps". */
export function jobSteps(db: Database, claim: Claim): JobSteps {
  return {
    async once<T extends StepValues>(name: string, step: () => Promise<T>, secret: (keyof T & string)[] = []): Promise<T> {
      const payload = claim.job.payload ?? {};
      const stored = (payload.steps ?? {}) as StoredSteps;
      const done = stored[name];
      if (done) {
        const values = { ...done.values };
        for (const field of done.sealed) values[field] = unsealOrGiveUp(String(values[field]));
        return values as T;
      }
      const values = await step();
      const kept: StepValues = { ...values };
      for (const field of secret) kept[field] = seal(String(values[field]));
      const next = { ...payload, steps: { ...stored, [name]: { values: kept, sealed: secret } } };
      await saveJobPayload(db, claim, next);
      claim.job.payload = next;
      return values;
    },
  };
}
