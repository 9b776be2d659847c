import "server-only";
import { z } from "zod";
import type { Database } from "@/db/client";
import { audit } from "../audit";
import { deliverVerificationEmail } from "../email-verification";
import { env } from "../env";
import { log } from "../log";
import { notifyPasswordChanged } from "../password-changed";
import { deliverPasswordReset, issueResetLink } from "../password-reset";
import { completeRegistration } from "../registration";
import { notifyTwoFactorChange } from "../two-factor-notify";
import { PermanentJobError, RetryableJobError } from "./errors";
import { claimJob, finishJob, jobSteps, LeaseLost, retryJobLater, unsealOrGiveUp, type Claim, type JobKind, type JobSteps } from "./queue";
import { jobWorkerState } from "./state";

const context = { ip: z.string().nullable(), userAgent: z.string().nullable() };
const userAddress = { userId: z.string(), email: z.string() };

// Payloads come back from the database: parsed like any other input.
const HANDLERS: Record<JobKind, (db: Database, payload: unknown, steps: JobSteps) => Promise<void>> = {
  "password_reset.request": (db, payload, steps) =>
    deliverPasswordReset(db, z.object({ email: z.string(), ...context }).parse(payload), steps),
  "registration.complete": (db, payload, steps) => {
    const p = z.object({ email: z.string(), sealedPassword: z.string(), name: z.string().optional(), ...context }).parse(payload);
    return completeRegistration(db, { email: p.email, password: unsealOrGiveUp(p.sealedPassword), name: p.name, ip: p.ip, userAgent: p.userAgent }, steps);
  },
  "email_verification.request": (db, payload, steps) =>
    deliverVerificationEmail(db, z.object({ email: z.string(), ...context }).parse(payload), steps),
  "password_changed.notify": (db, payload, steps) => {
    const p = z.object({ ...userAddress, changedAt: z.coerce.date(), ...context }).parse(payload);
    return notifyPasswordChanged(db, p, steps);
  },
  "admin.forced_reset": (db, payload, steps) => {
    const p = z.object({ ...userAddress, ...context }).parse(payload);
    return issueResetLink(db, { id: p.userId, email: p.email }, { ip: p.ip, userAgent: p.userAgent }, steps);
  },
  "two_factor.notify": (_db, payload) => {
    const p = z
      .object({
        ...userAddress,
        change: z.enum(["enabled", "disabled", "removed_by_admin", "recovery_code_used"]),
        recoveryCodesLeft: z.number().int().nullable(),
        at: z.coerce.date(),
        ...context,
      })
      .parse(payload);
    return notifyTwoFactorChange(p);
  },
  "password_change.report_reset": (db, payload, steps) => {
    const p = z.object({ ...userAddress, ...context }).parse(payload);
    return issueResetLink(db, { id: p.userId, email: p.email }, { ip: p.ip, userAgent: p.userAgent }, steps);
  },
};

const RETRY_CAP_MS = 60 * 60 * 1000;

/** Exponential backoff with jitter: base·2^(n-1), capped, drawn from its upper half. */
export function backoffMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RETRY_CAP_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The delay before the next attempt: the provider's Retry-After when it gave one, never less. */
export function retryDelayMs(attempt: number, retryAfterMs: number | undefined, baseMs: number, random: () => number = Math.random): number {
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

async function execute(db: Database, claim: Claim): Promise<void> {
  const { job } = claim;
  const config = env();
  // A job whose instance died on every try is not tried for ever.
  if (job.attempts > config.JOBS_MAX_ATTEMPTS) return abandon(db, claim, job.lastError ?? "lease_expired");
  try {
    const steps = jobSteps(db, claim);
    await HANDLERS[job.kind as JobKind](db, job.payload ?? {}, steps);
    // A handler whose last statement ended the job (JobSteps.statement) saves this round trip.
    if (!steps.ended) await finishJob(db, claim, "done");
  } catch (error) {
    if (error instanceof LeaseLost) {
      log("warn", "job.lease_lost", { jobId: job.id, kind: job.kind });
      return;
    }
    if (error instanceof RetryableJobError && !error.countsAsAttempt) {
      await retryJobLater(db, claim, error.retryAfterMs ?? 0, error.reason, false);
      return;
    }
    const permanent = error instanceof PermanentJobError || error instanceof z.ZodError || !HANDLERS[job.kind as JobKind];
    const reason = error instanceof RetryableJobError || error instanceof PermanentJobError ? error.reason : error instanceof Error ? error.name : "unknown_error";
    if (permanent || job.attempts >= config.JOBS_MAX_ATTEMPTS) return abandon(db, claim, reason);
    const delay = retryDelayMs(job.attempts, error instanceof RetryableJobError ? error.retryAfterMs : undefined, config.JOBS_RETRY_BASE_MS);
    log("warn", "job.retry", { jobId: job.id, kind: job.kind, attempt: job.attempts, reason, delayMs: delay }, error instanceof Error && !(error instanceof RetryableJobError) ? error : undefined);
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
 * Claims and runs one job: `id` when given (right after the answer), else the next due one.
 * Never throws; answers whether a job was run. After SIGTERM nothing new is claimed.
 */
export async function runJob(db: Database, id?: string): Promise<boolean> {
  if (jobWorkerState().stopping) return false;
  try {
    const claim = await claimJob(db, id);
    if (!claim) return false;
    await hold(
      execute(db, claim).catch((error: unknown) => {
        // The database failed while recording the outcome: the lease runs out and another try follows.
        log("error", "job.outcome_not_recorded", { jobId: claim.job.id, kind: claim.job.kind }, error);
      }),
    );
    return true;
  } catch (error) {
    log("error", "job.claim_failed", {}, error);
    return false;
  }
}

/** Runs due jobs, `concurrency` at a time, until none is due, `deadline` passes or SIGTERM. Answers how many ran. */
export async function drainJobs(db: Database, options: { concurrency?: number; deadline?: number } = {}): Promise<number> {
  let ran = 0;
  const lane = async () => {
    while (!jobWorkerState().stopping && (options.deadline === undefined || Date.now() < options.deadline)) {
      if (!(await runJob(db))) return;
      ran += 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, lane));
  return ran;
}
