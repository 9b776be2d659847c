// Whether the database answers, as this process last saw it. proxy.ts asks before every page
// and API request so that an outage is answered with a clear 503 before any rendering starts
// (a page that throws mid-render can only give a 500, or a 200 once streaming began).
// Imported by proxy.ts, route handlers and server actions; no "server-only" so tests import it.
import { sql } from "drizzle-orm";
import { lastConnectionClosedAt } from "../db/client";
import { getDb } from "./db";

/** Seconds a client is told to wait (Retry-After) while the database is unavailable. */
export const RETRY_AFTER_SECONDS = 5;

// While the database is up, a successful probe is trusted this long, unless a connection of
// the pool closed since (PostgreSQL shutting down or crashing closes every connection at once,
// so an outage still gets its 503 from the first request): under load, one probe a second
// per instance instead of one per burst of requests.
const UP_TRUST_MS = 1_000;
// While the database is down, one probe per second per instance; every other request in
// between is answered from the last result, so an outage costs no connection attempts per request.
const DOWN_RECHECK_MS = 1_000;
// A probe that has not answered by then counts as a failure (a hung network, a locked server).
const PROBE_TIMEOUT_MS = 2_000;

// Errors that mean "the database cannot serve right now", not "this query is wrong":
// the network, postgres.js's connection states, and the SQLSTATEs of a server that is shutting
// down, starting, full, or that cancelled a statement at statement_timeout / lock_timeout.
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, shutting down)
  "53300", // too_many_connections
  "57014", // query_canceled (statement_timeout)
  "55P03", // lock_not_available (lock_timeout)
]);

/** True when `error` (or an error it wraps) says the database is unreachable or timed out. */
export function isDatabaseUnavailableError(error: unknown, depth = 0): boolean {
  if (depth > 6 || typeof error !== "object" || error === null) return false;
  // `cause`: drizzle's wrapper; `err`: Auth.js's (CallbackRouteError); `errors`: AggregateError.
  const { code, cause, err, errors } = error as { code?: unknown; cause?: unknown; err?: unknown; errors?: unknown };
  if (typeof code === "string" && (UNAVAILABLE_CODES.has(code) || code.startsWith("08"))) return true;
  if (Array.isArray(errors) && errors.some((e) => isDatabaseUnavailableError(e, depth + 1))) return true;
  return isDatabaseUnavailableError(cause, depth + 1) || isDatabaseUnavailableError(err, depth + 1);
}

interface AvailabilityState {
  down: boolean;
  /** When the current answer was learnt (a probe's end, an error's arrival): the trust windows count from it. */
  checkedAt: number;
  /** When the observation behind the current answer began: an older one never overwrites it. */
  observedAt: number;
  probe?: Promise<boolean>;
  /** Why the last failed probe failed (for the health check's log line). */
  lastProbeError?: unknown;
}

// On globalThis: proxy.ts, the route handlers and the pages are separate module graphs in one
// process, and the health check must read and write the very state the routes answer from.
const globalForAvailability = globalThis as unknown as { __rekeyDbAvailability?: AvailabilityState };
function state(): AvailabilityState {
  return (globalForAvailability.__rekeyDbAvailability ??= { down: false, checkedAt: 0, observedAt: 0 });
}

/**
 * Records what an observation that began at `observedAt` saw. A slow probe that began before
 * a newer answer (say one started while PostgreSQL was still down, ending after a health check
 * saw it up) must not put back an outage that is over.
 */
function record(up: boolean, observedAt: number): void {
  const current = state();
  if (observedAt < current.observedAt) return;
  current.down = !up;
  current.observedAt = observedAt;
  current.checkedAt = Date.now();
}

/**
 * Remembers an outage seen by a request (so the next ones are answered 503 at once); returns
 * whether `error` was one.
 */
export function noteDatabaseError(error: unknown): boolean {
  if (!isDatabaseUnavailableError(error)) return false;
  record(false, Date.now());
  return true;
}

async function probe(): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => {
      state().lastProbeError = new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`);
      resolve(false);
    }, PROBE_TIMEOUT_MS);
  });
  const answer = (async () => {
    await (await getDb()).execute(sql`select 1`);
    return true;
  })().catch((error: unknown) => {
    state().lastProbeError = error;
    return false;
  });
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One `select 1` for every concurrent caller; its answer is recorded for every request of this process. */
function sharedProbe(): Promise<boolean> {
  const current = state();
  if (current.probe) return current.probe;
  const startedAt = Date.now();
  const running = probe().then((up) => {
    record(up, startedAt);
    if (current.probe === running) current.probe = undefined;
    return up;
  });
  current.probe = running;
  return running;
}

/**
 * Whether the database answers now. Concurrent callers share one `select 1`, and a success
 * stands for UP_TRUST_MS while no connection closes; while it is known to be down, the answer
 * is reused for a second before the next probe, so recovery is noticed within about a second
 * and needs no restart (or at once, by the next health check: checkDatabaseNow).
 */
export async function isDatabaseAvailable(): Promise<boolean> {
  const current = state();
  if (current.probe) return current.probe;
  const trusted = !current.down && current.checkedAt > 0 && Date.now() - current.checkedAt < UP_TRUST_MS;
  if (trusted && lastConnectionClosedAt() < current.checkedAt) return true;
  if (current.down && Date.now() - current.checkedAt < DOWN_RECHECK_MS) return false;
  return sharedProbe();
}

/**
 * For the health check: probes the database now, without trusting an earlier answer either
 * way, records the result where every route of this process reads it, and answers what the
 * routes will answer next. So a load balancer that sees "healthy" can send traffic: the next
 * request is served, not refused on an outage this process saw a moment ago; and "unhealthy"
 * means the routes answer 503 too. `error`: why the probe failed, when it did.
 */
export async function checkDatabaseNow(): Promise<{ up: boolean; error?: unknown }> {
  // A probe already under way began at most PROBE_TIMEOUT_MS ago: joined, not doubled.
  await sharedProbe();
  // The recorded state, not the probe's own answer: a newer observation may have overruled it.
  const current = state();
  return current.down ? { up: false, error: current.lastProbeError } : { up: true };
}

/** Forgets what this process saw (tests start from "never probed"). */
export function resetAvailabilityForTests(): void {
  globalForAvailability.__rekeyDbAvailability = { down: false, checkedAt: 0, observedAt: 0 };
}
