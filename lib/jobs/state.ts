import "server-only";

interface JobWorkerState {
  /** Set on SIGTERM: no new job is claimed. */
  stopping: boolean;
  /** Jobs this instance is running now. */
  inFlight: Set<Promise<unknown>>;
  timer?: ReturnType<typeof setInterval>;
  /** Per database: the jobs this instance accepted and has yet to claim, and whether a claim is under way. */
  pumps: WeakMap<object, AcceptedJobs>;
}

export interface AcceptedJobs {
  /** Each job's id, with what to call once it has run. */
  waiting: Map<string, () => void>;
  /** Whether a claim of accepted jobs is under way (the next one takes every job accepted meanwhile). */
  pumping: boolean;
}

// On globalThis: Next loads instrumentation and route modules in separate module graphs.
const globalForJobs = globalThis as unknown as { __rekeyJobs?: JobWorkerState };

/** This process's job worker state. */
export function jobWorkerState(): JobWorkerState {
  globalForJobs.__rekeyJobs ??= { stopping: false, inFlight: new Set(), pumps: new WeakMap() };
  return globalForJobs.__rekeyJobs;
}
