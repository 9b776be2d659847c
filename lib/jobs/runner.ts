import "server-only";
import { z } from "zod";
import type { Database } from "@/db/client";
import { audit } from "../audit";
import { env } from "../env";
import { log } from "../log";
import type { JobRegistry } from "./definition";
import { PermanentJobError, RetryableJobError } from "./errors";
import { claimJobs, finishJob, LeaseLost, retryJobLater, type Claim } from "./queue";
import { jobWorkerState, type AcceptedJobs } from "./state";
import { jobSteps } from "./steps";

const RETRY_CAP_MS = 60 * 60 * 1000;

/** Exponential backoff with jitter: base·2^(n-1), capped, drawn from its upper half. */
export function backoffMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RETRY_CAP_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The delay before the next attempt: the provider's Retry-After when it gave one, never less. */
export function retryDelayMs(
  attempt: number,
  retryAfterMs: number | undefined,
  baseMs: number,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return retryAfterMs + Math.round(random() * Math.min(1_000, retryAfterMs / 10));
  return backoffMs(attempt, baseMs, random);
}

async function abandon(db: Database, claim: Claim, reason: string): Promise<void> {
  const { job } = claim;
  const userId = typeof job.payload?.userId === "string" ? job.payload.userId : null;
  await finishJob(db, claim, "failed", reason);
  log("error", "job.abandoned", { jobId: job.id, kind: job.kind, attempts: job.attempts, reason });
  await audit(db, { event: "job.abandoned", userId, details: { job_id: job.id, kind: job.kind, attempts: job.attempts, reason } });
}

async function execute(db: Database, registry: JobRegistry, claim: Claim): Promise<void> {
  const { job } = claim;
  // Its batch first step ended it (an unknown address): nothing is left to do.
  if (claim.ended) return;
  const config = env();
  // A job whose instance died on every try is not tried for ever.
  if (job.attempts > config.JOBS_MAX_ATTEMPTS) return abandon(db, claim, job.lastError ?? "lease_expired");
  try {
    const definition = registry.get(job.kind);
    if (!definition) throw new PermanentJobError("unknown_job_kind");
    // Payloads come back from the database: parsed like any other input.
    await definition.run(db, definition.payload.parse(job.payload ?? {}), jobSteps(db, claim));
    // A handler whose last statement ended the job (JobSteps.statement) saves this round trip.
    if (!claim.ended) await finishJob(db, claim, "done");
  } catch (error) {
    if (error instanceof LeaseLost) {
      log("warn", "job.lease_lost", { jobId: job.id, kind: job.kind });
      return;
    }
    if (error instanceof RetryableJobError && !error.countsAsAttempt) {
      await retryJobLater(db, claim, error.retryAfterMs ?? 0, error.reason, false);
      return;
    }
    const permanent = error instanceof PermanentJobError || error instanceof z.ZodError;
    const reason =
      error instanceof RetryableJobError || error instanceof PermanentJobError
        ? error.reason
        : error instanceof Error
          ? error.name
          : "unknown_error";
    if (permanent || job.attempts >= config.JOBS_MAX_ATTEMPTS) return abandon(db, claim, reason);
    const delay = retryDelayMs(
      job.attempts,
      error instanceof RetryableJobError ? error.retryAfterMs : undefined,
      config.JOBS_RETRY_BASE_MS,
    );
    log(
      "warn",
      "job.retry",
      { jobId: job.id, kind: job.kind, attempt: job.attempts, reason, delayMs: delay },
      error instanceof Error && !(error instanceof RetryableJobError) ? error : undefined,
    );
    await retryJobLater(db, claim, delay, reason, true);
  }
}

/** Runs `promise` as work this instance holds: SIGTERM waits for it. */
function hold<T>(promise: Promise<T>): Promise<T> {
  const state = jobWorkerState();
  state.inFlight.add(promise);
  void promise.finally(() => state.inFlight.delete(promise)).catch(() => {});
  return promise;
}

/**
 * Runs the batch step (JobDefinition.batch) of `kind` for its claimed jobs. A job whose payload
 * does not parse is left to its own run, which abandons it.
 */
async function runBatchStep(db: Database, registry: JobRegistry, kind: string, claims: Claim[]): Promise<void> {
  const definition = registry.get(kind);
  if (!definition?.batch) return;
  const batched = [];
  for (const claim of claims) {
    const payload = definition.payload.safeParse(claim.job.payload ?? {});
    if (payload.success) batched.push({ payload: payload.data, steps: jobSteps(db, claim) });
  }
  if (batched.length > 0) await definition.batch(db, batched);
}

/**
 * Runs claimed jobs: each kind's batch first step for all of them at once, then every job's own
 * work side by side, held (SIGTERM waits for it). Never throws. Resolves once the batch steps
 * are done, with each job's run: the caller may go on claiming while slow jobs (an email) run.
 */
async function runClaims(db: Database, registry: JobRegistry, claims: Claim[]): Promise<Promise<void>[]> {
  const maxAttempts = env().JOBS_MAX_ATTEMPTS;
  const byKind = new Map<string, Claim[]>();
  for (const claim of claims) {
    if (claim.job.attempts > maxAttempts) continue;
    const kind = claim.job.kind;
    const ofKind = byKind.get(kind);
    if (ofKind) ofKind.push(claim);
    else byKind.set(kind, [claim]);
  }
  await hold(
    Promise.all(
      [...byKind].map(async ([kind, ofKind]) => {
        // Failed for the lot: nothing was recorded, and each job does the step on its own.
        await runBatchStep(db, registry, kind, ofKind).catch((error: unknown) =>
          log("warn", "job.batch_step_failed", { kind, jobs: ofKind.length }, error),
        );
      }),
    ),
  );
  return claims.map((claim) =>
    hold(
      execute(db, registry, claim).catch((error: unknown) => {
        // The database failed while recording the outcome: the lease runs out and another try follows.
        log("error", "job.outcome_not_recorded", { jobId: claim.job.id, kind: claim.job.kind }, error);
      }),
    ),
  );
}

/** Claims up to `limit` due jobs (of `ids`, when given) and runs them. Never throws; answers the jobs' runs. */
async function claimAndRun(db: Database, registry: JobRegistry, options: { ids?: string[]; limit: number }): Promise<Promise<void>[]> {
  if (jobWorkerState().stopping) return [];
  try {
    return await runClaims(db, registry, await claimJobs(db, options));
  } catch (error) {
    log("error", "job.claim_failed", {}, error);
    return [];
  }
}

/**
 * Claims and runs one job: `id` when given, else the next due one. Never throws; answers
 * whether a job was run. After SIGTERM nothing new is claimed.
 */
export async function runJob(db: Database, registry: JobRegistry, id?: string): Promise<boolean> {
  const runs = await claimAndRun(db, registry, { ids: id ? [id] : undefined, limit: 1 });
  await Promise.all(runs);
  return runs.length > 0;
}

/** The most jobs one claim takes. */
const BATCH_SIZE = 100;
/** How long an accepted job waits for others to join its claim: an email this much later is no later. */
const BATCH_WINDOW_MS = 10;

/**
 * Runs job `id`, which this instance has just accepted, once the answer has gone out. Jobs
 * accepted within BATCH_WINDOW_MS of each other, or while a claim is under way, are claimed
 * together, and their batch first steps run for the lot: under a flood, a few statements serve
 * many jobs instead of a few each. Resolves once the job has run (after() keeps the
 * instance alive until then); a job not claimed (SIGTERM, the database down) is left to the
 * poller or the drain cron.
 */
export function runAcceptedJob(db: Database, registry: JobRegistry, id: string): Promise<void> {
  const { pumps } = jobWorkerState();
  let accepted = pumps.get(db);
  if (!accepted) pumps.set(db, (accepted = { waiting: new Map(), pumping: false }));
  const jobs = accepted;
  return new Promise((resolve) => {
    jobs.waiting.set(id, resolve);
    if (!jobs.pumping) void pumpAcceptedJobs(db, registry, jobs);
  });
}

async function pumpAcceptedJobs(db: Database, registry: JobRegistry, accepted: AcceptedJobs): Promise<void> {
  accepted.pumping = true;
  try {
    while (accepted.waiting.size > 0) {
      if (accepted.waiting.size < BATCH_SIZE) await new Promise((resolve) => setTimeout(resolve, BATCH_WINDOW_MS));
      const batch = [...accepted.waiting].slice(0, BATCH_SIZE);
      for (const [id] of batch) accepted.waiting.delete(id);
      const runs = await claimAndRun(db, registry, { ids: batch.map(([id]) => id), limit: batch.length });
      // Every waiter is released once the batch's runs have settled, not one by one: a job that
      // was not claimed has nothing to wait for, and after() only needs the instance to stay up.
      void Promise.all(runs).then(() => {
        for (const [, done] of batch) done();
      });
    }
  } finally {
    accepted.pumping = false;
  }
}

/** Runs due jobs, `concurrency` batches at a time, until none is due, `deadline` passes or SIGTERM. Answers how many ran. */
export async function drainJobs(
  db: Database,
  registry: JobRegistry,
  options: { concurrency?: number; deadline?: number } = {},
): Promise<number> {
  let ran = 0;
  const lane = async () => {
    while (!jobWorkerState().stopping && (options.deadline === undefined || Date.now() < options.deadline)) {
      const runs = await claimAndRun(db, registry, { limit: DRAIN_BATCH_SIZE });
      if (runs.length === 0) return;
      await Promise.all(runs);
      ran += runs.length;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, lane));
  return ran;
}

/** How many due jobs a lane of drainJobs claims at once. */
const DRAIN_BATCH_SIZE = 10;
