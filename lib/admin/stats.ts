import "server-only";
import { sql } from "drizzle-orm";
import type { Database } from "@/db/client";
import type { AuditEventName } from "@/lib/audit";

export const PERIODS = { "24h": 1, "7d": 7, "30d": 30 } as const;
export type Period = keyof typeof PERIODS;

/** The period named by a query parameter; anything else is the last 7 days. */
export function parsePeriod(value: string | string[] | undefined): Period {
  return typeof value === "string" && value in PERIODS ? (value as Period) : "7d";
}

export interface RecoveryStats {
  period: Period;
  resetRequests: number;
  resetEmailsSent: number;
  resetsCompleted: number;
  /** completed ÷ emails sent; null when no email was sent. */
  successRate: number | null;
  linksExpiredUnused: number;
  invalidLinkAttempts: number;
  emailsFailed: number;
  /** Jobs (each sends an email) waiting for another try now, whatever the period. */
  emailsRetrying: number;
  emailJobsAbandoned: number;
  throttledRequests: number;
  failedSignIns: number;
  /** Median seconds from the reset email being sent to the reset completed; null when none. */
  medianSecondsToReset: number | null;
  /** Jobs pending now, due or not. */
  queueDepth: number;
  /** One entry per UTC day of the period, oldest first. */
  daily: { day: string; requests: number; completions: number }[];
}

const COUNTED = {
  resetRequests: ["password_reset.requested"],
  resetEmailsSent: ["password_reset.email_sent"],
  resetsCompleted: ["password_reset.completed"],
  invalidLinkAttempts: ["password_reset.token_invalid", "password_reset.token_reused"],
  emailsFailed: ["password_reset.email_failed", "email_verification.email_failed"],
  emailJobsAbandoned: ["job.abandoned"],
  throttledRequests: ["password_reset.throttled", "user.sign_in_throttled", "email_verification.throttled"],
  failedSignIns: ["user.sign_in_failed"],
} as const satisfies Record<string, AuditEventName[]>;

type CountedFigure = keyof typeof COUNTED;

function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/**
 * The dashboard's figures for the last `period`, from the database so every instance shows
 * the same. Each count is a range scan of audit_events_event_idx (event, created_at).
 */
export async function readRecoveryStats(db: Database, period: Period, now: Date = new Date()): Promise<RecoveryStats> {
  const days = PERIODS[period];
  const since = new Date(now.getTime() - days * 86_400_000);
  const sinceIso = since.toISOString();
  const nowIso = now.toISOString();
  const events = Object.values(COUNTED).flat();
  const eventList = sql.join(events.map((e) => sql`${e}`), sql`, `);

  // Sequential: PGlite runs one query at a time anyway, and PostgreSQL answers each in milliseconds.
  const counts = rowsOf<{ event: string; n: number | string }>(
    await db.execute(sql`
      select event, count(*) as n from audit_events
      where event in (${eventList}) and created_at >= ${sinceIso} and created_at < ${nowIso}
      group by event`),
  );
  const byEvent = new Map(counts.map((r) => [r.event, Number(r.n)]));
  const figure = (name: CountedFigure) => COUNTED[name].reduce((sum, e) => sum + (byEvent.get(e) ?? 0), 0);

  const [tokens] = rowsOf<{ expired: number | string }>(
    await db.execute(sql`
      select count(*) as expired from password_reset_tokens
      where used_at is null and expires_at >= ${sinceIso} and expires_at < ${nowIso}`),
  );
  const [queue] = rowsOf<{ depth: number | string; retrying: number | string }>(
    await db.execute(sql`
      select count(*) as depth, count(*) filter (where attempts > 0) as retrying
      from jobs where status = 'pending'`),
  );
  // The reset's own email is found through the token id both events carry. A link lives at
  // most a day (RESET_TOKEN_TTL_MINUTES), so its email was sent at most a day before the period.
  const [median] = rowsOf<{ seconds: number | string | null }>(
    await db.execute(sql`
      select percentile_cont(0.5) within group (order by extract(epoch from c.created_at - s.created_at)) as seconds
      from audit_events c
      join audit_events s on s.event = 'password_reset.email_sent' and s.details->>'token_id' = c.details->>'token_id'
        and s.created_at >= ${new Date(since.getTime() - 86_400_000).toISOString()}
      where c.event = 'password_reset.completed' and c.created_at >= ${sinceIso} and c.created_at < ${nowIso}`),
  );
  const dailyRows = rowsOf<{ day: string; event: string; n: number | string }>(
    await db.execute(sql`
      select to_char(date_trunc('day', created_at at time zone 'UTC'), 'YYYY-MM-DD') as day, event, count(*) as n
      from audit_events
      where event in ('password_reset.requested', 'password_reset.completed') and created_at >= ${sinceIso} and created_at < ${nowIso}
      group by 1, 2`),
  );

  const daily: RecoveryStats["daily"] = [];
  // A 24-hour period spans two UTC days; each period shows every UTC day it touches.
  for (let t = Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), since.getUTCDate()); t <= now.getTime(); t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10);
    const of = (event: string) => Number(dailyRows.find((r) => r.day === day && r.event === event)?.n ?? 0);
    daily.push({ day, requests: of("password_reset.requested"), completions: of("password_reset.completed") });
  }

  const resetEmailsSent = figure("resetEmailsSent");
  const resetsCompleted = figure("resetsCompleted");
  return {
    period,
    resetRequests: figure("resetRequests"),
    resetEmailsSent,
    resetsCompleted,
    successRate: resetEmailsSent === 0 ? null : resetsCompleted / resetEmailsSent,
    linksExpiredUnused: Number(tokens?.expired ?? 0),
    invalidLinkAttempts: figure("invalidLinkAttempts"),
    emailsFailed: figure("emailsFailed"),
    emailsRetrying: Number(queue?.retrying ?? 0),
    emailJobsAbandoned: figure("emailJobsAbandoned"),
    throttledRequests: figure("throttledRequests"),
    failedSignIns: figure("failedSignIns"),
    medianSecondsToReset: median?.seconds == null ? null : Number(median.seconds),
    queueDepth: Number(queue?.depth ?? 0),
    daily,
  };
}
