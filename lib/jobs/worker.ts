import "server-only";
import { getDb } from "@/lib/db";
import { env } from "../env";
import { log } from "../log";
import type { JobRegistry } from "./definition";
import { drainJobs } from "./runner";
import { jobWorkerState } from "./state";

/**
 * For long-running servers (`next start`): drains due and orphaned jobs on a timer, and on
 * SIGTERM stops claiming and lets held jobs finish within JOBS_SHUTDOWN_GRACE_MS.
 */
export function startJobWorker(registry: JobRegistry): void {
  const state = jobWorkerState();
  if (state.timer) return;
  let draining = false;
  state.timer = setInterval(() => {
    if (draining || state.stopping) return;
    draining = true;
    getDb()
      .then((db) => drainJobs(db, registry))
      .catch((error: unknown) => log("warn", "job.poll_failed", {}, error))
      .finally(() => {
        draining = false;
      });
  }, env().JOBS_POLL_INTERVAL_MS);
  state.timer.unref();
  process.once("SIGTERM", stopJobWorker);
}

/** Stops claiming work; holds the process's exit until held jobs finish or the grace period ends. */
function stopJobWorker(): void {
  const state = jobWorkerState();
  state.stopping = true;
  clearInterval(state.timer);
  const settled = settleHeldJobs(env().JOBS_SHUTDOWN_GRACE_MS);
  // `next start` calls process.exit as soon as its own shutdown is done; it knows nothing of
  // the jobs this instance holds. Hold that exit until they are finished (or the grace is
  // over: then their leases run out and another instance takes them over).
  const exit = process.exit.bind(process);
  process.exit = ((code?: number | string | null) => {
    void settled.finally(() => exit(code));
  }) as typeof process.exit;
}

async function settleHeldJobs(graceMs: number): Promise<void> {
  const state = jobWorkerState();
  const deadline = Date.now() + graceMs;
  const held = state.inFlight.size;
  log("info", "job.shutdown_started", { held, graceMs });
  while (state.inFlight.size > 0 && Date.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadline - Date.now())));
    await Promise.race([Promise.allSettled([...state.inFlight]), timeout]);
    clearTimeout(timer);
  }
  log(state.inFlight.size > 0 ? "warn" : "info", "job.shutdown_finished", { held, unfinished: state.inFlight.size });
}
