import "server-only";

interface JobWorkerState {
  /** Set on SIGTERM: no new job is claimed. */
  stopping: boolean;
  /** Jobs this instance is running now. */
  inFlight: Set<Promise<unknown>>;
  timer?: ReturnType<typeof setInterval>;
}

// On globalThis: Next loads instrumentation and route modules in separate module graphs.
const globalForJobs = globalThis as unknown as { __rekeyJobs?: JobWorkerState };

/** This process's job worker state. */
export function jobWorkerState(): JobWorkerState {
  globalForJobs.__rekeyJobs ??= { stopping: false, inFlight: new Set() };
  return globalForJobs.__rekeyJobs;
}
