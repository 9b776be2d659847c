import "server-only";
import { sql } from "drizzle-orm";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { queryRows, type Database } from "@/db/client";

interface RekeyMetrics {
  registry: Registry;
  events: Counter<"event">;
  unrecorded: Counter<"event">;
  emailSendSeconds: Histogram<"transport" | "outcome">;
  queueDepth: Gauge<"status">;
  jobsRetrying: Gauge;
}

// On globalThis: Next loads instrumentation (the job worker) and route modules in separate
// module graphs, and both must count into the one registry /api/metrics serves.
const globalForMetrics = globalThis as unknown as { __rekeyMetrics?: RekeyMetrics };

function metrics(): RekeyMetrics {
  if (!globalForMetrics.__rekeyMetrics) {
    const registry = new Registry();
    globalForMetrics.__rekeyMetrics = {
      registry,
      events: new Counter({
        name: "rekey_events_total",
        help: "Security events recorded by this instance since it started, by audit event name.",
        labelNames: ["event"],
        registers: [registry],
      }),
      unrecorded: new Counter({
        name: "rekey_audit_unrecorded_total",
        help: "Throttled refusals past the first of their window, which write no audit row (the first one did), by audit event name.",
        labelNames: ["event"],
        registers: [registry],
      }),
      emailSendSeconds: new Histogram({
        name: "rekey_email_send_duration_seconds",
        help: "Time to hand one email to the transport (render, pacing wait and provider call).",
        labelNames: ["transport", "outcome"],
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
      queueDepth: new Gauge({
        name: "rekey_jobs",
        help: "Deferred jobs in the database now (all instances), by status.",
        labelNames: ["status"],
        registers: [registry],
      }),
      jobsRetrying: new Gauge({
        name: "rekey_jobs_retrying",
        help: "Pending jobs that already failed at least once (all instances).",
        registers: [registry],
      }),
    };
  }
  return globalForMetrics.__rekeyMetrics;
}

/** Counts one recorded audit event. */
export function countEvent(event: string): void {
  metrics().events.inc({ event });
}

/** Counts one refusal that auditThrottled left out of the audit table. */
export function countUnrecordedRefusal(event: string): void {
  metrics().unrecorded.inc({ event });
}

/** Records how long one email send took. */
export function observeEmailSend(transport: string, ok: boolean, seconds: number): void {
  metrics().emailSendSeconds.observe({ transport, outcome: ok ? "sent" : "failed" }, seconds);
}

/**
 * The Prometheus text of this instance. Queue figures are state, not events, so they are read
 * from the jobs table at scrape time and agree on every instance.
 */
export async function renderMetrics(db: Database): Promise<{ contentType: string; body: string }> {
  const m = metrics();
  const rows = await queryRows<{ status: string; n: number | string; retrying: number | string }>(
    db,
    sql`select status, count(*) as n, count(*) filter (where status = 'pending' and attempts > 0) as retrying from jobs group by status`,
  );
  m.queueDepth.reset();
  for (const status of ["pending", "running", "done", "failed"])
    m.queueDepth.set({ status }, Number(rows.find((r) => r.status === status)?.n ?? 0));
  m.jobsRetrying.set(rows.reduce((sum, r) => sum + Number(r.retrying), 0));
  return { contentType: m.registry.contentType, body: await m.registry.metrics() };
}
