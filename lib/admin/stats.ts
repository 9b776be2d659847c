import "server-only";
import { sql } from "drizzle-orm";
import { queryRows, type Database } from "@/db/client";
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
  /** Median seconds from the reset request (the link's creation) to the reset completed; null when none. */
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

const DAY_MS = 86_400_000;
const COUNTED_MARK = "_counted";
const dayOf = (t: number) => new Date(t).toISOString().slice(0, 10);
const startOfUtcDay = (t: number) => t - (t % DAY_MS);

/**
 * Counts each closed UTC day in [from, to) once into audit_daily_counts. Concurrent instances
 * may count the same day at once: the counts agree and the second insert does nothing.
 */
async function countClosedDays(db: Database, from: number, to: number): Promise<void> {
  if (from >= to) return;
  const counted = await queryRows<{ day: string }>(
    db,
    sql`select to_char(day, 'YYYY-MM-DD') as day from audit_daily_counts
      where event = ${COUNTED_MARK} and day >= ${dayOf(from)} and day < ${dayOf(to)}`,
  );
  const done = new Set(counted.map((r) => r.day));
  for (let t = from; t < to; t += DAY_MS) {
    const day = dayOf(t);
    if (done.has(day)) continue;
    await db.execute(sql`
      insert into audit_daily_counts (day, event, count)
      select ${day}::date, event, count(*) from audit_events
      where created_at >= ${new Date(t).toISOString()} and created_at < ${new Date(t + DAY_MS).toISOString()}
      group by event
      union all select ${day}::date, ${COUNTED_MARK}, 0
      on conflict do nothing`);
  }
}

/**
 * Counts the closed days the longest period shows, so that the first dashboard render after a
 * quiet spell reads roll-ups only; the cleanup cron calls it (a render counts what is missing).
 */
export async function rollUpAuditDays(db: Database, now: Date = new Date()): Promise<void> {
  const today = startOfUtcDay(now.getTime());
  await countClosedDays(db, today - Math.max(...Object.values(PERIODS)) * DAY_MS, today);
}

/**
 * Deletes the roll-ups of days whose every audit event is past `retentionDays` (the cleanup
 * deletes those events themselves): a count kept longer than its rows would outlive the
 * retention the operator chose. Answers how many rows went.
 */
export async function deleteExpiredAuditDays(db: Database, retentionDays: number, now: Date = new Date()): Promise<number> {
  // A day goes once its end is older than the cut-off, as its last events then are.
  const firstKept = dayOf(startOfUtcDay(now.getTime() - retentionDays * DAY_MS));
  const deleted = await queryRows<{ day: string }>(db, sql`delete from audit_daily_counts where day < ${firstKept}::date returning day`);
  return deleted.length;
}

/**
 * The dashboard's figures for the last `period`, from the database so every instance shows
 * the same. Closed UTC days come from audit_daily_counts (each counted once, on first need);
 * only the period's two partial days are counted from audit_events, by a range scan of
 * audit_events_event_idx (event, created_at).
 */
export async function readRecoveryStats(db: Database, period: Period, now: Date = new Date()): Promise<RecoveryStats> {
  const days = PERIODS[period];
  const since = new Date(now.getTime() - days * DAY_MS);
  const sinceIso = since.toISOString();
  const nowIso = now.toISOString();
  const firstClosedDay = startOfUtcDay(since.getTime()) + DAY_MS;
  const today = startOfUtcDay(now.getTime());
  const events = [...new Set<string>([...Object.values(COUNTED).flat(), "password_reset.requested", "password_reset.completed"])];
  const eventList = sql.join(
    events.map((e) => sql`${e}`),
    sql`, `,
  );

  // Sequential: PGlite runs one query at a time anyway.
  await countClosedDays(db, firstClosedDay, today);
  const closed = await queryRows<{ day: string; event: string; n: number | string }>(
    db,
    sql`
      select to_char(day, 'YYYY-MM-DD') as day, event, count as n from audit_daily_counts
      where event in (${eventList}) and day >= ${dayOf(firstClosedDay)} and day < ${dayOf(today)}`,
  );
  const partial = await queryRows<{ day: string; event: string; n: number | string }>(
    db,
    sql`
      select to_char(date_trunc('day', created_at at time zone 'UTC'), 'YYYY-MM-DD') as day, event, count(*) as n
      from audit_events
      where event in (${eventList}) and created_at >= ${sinceIso} and created_at < ${nowIso}
        and (created_at < ${new Date(Math.min(firstClosedDay, today)).toISOString()} or created_at >= ${new Date(today).toISOString()})
      group by 1, 2`,
  );
  const counts = new Map<string, number>();
  for (const r of [...closed, ...partial]) counts.set(`${r.day}|${r.event}`, (counts.get(`${r.day}|${r.event}`) ?? 0) + Number(r.n));
  const daily: RecoveryStats["daily"] = [];
  const total = new Map<string, number>();
  // A 24-hour period spans two UTC days; each period shows every UTC day it touches.
  for (let t = startOfUtcDay(since.getTime()); t <= now.getTime(); t += DAY_MS) {
    const day = dayOf(t);
    for (const e of events) total.set(e, (total.get(e) ?? 0) + (counts.get(`${day}|${e}`) ?? 0));
    daily.push({
      day,
      requests: counts.get(`${day}|password_reset.requested`) ?? 0,
      completions: counts.get(`${day}|password_reset.completed`) ?? 0,
    });
  }
  const figure = (name: CountedFigure) => COUNTED[name].reduce((sum, e) => sum + (total.get(e) ?? 0), 0);

  const [tokens] = await queryRows<{ expired: number | string }>(
    db,
    sql`
      select count(*) as expired from password_reset_tokens
      where used_at is null and expires_at >= ${sinceIso} and expires_at < ${nowIso}`,
  );
  const [queue] = await queryRows<{ depth: number | string; retrying: number | string }>(
    db,
    sql`select count(*) as depth, count(*) filter (where attempts > 0) as retrying from jobs where status = 'pending'`,
  );
  // From the link rows: a used link records when it was requested and when it was used. The
  // cleanup deletes links a week after they expire, so a 30-day median covers the last week or so.
  const [median] = await queryRows<{ seconds: number | string | null }>(
    db,
    sql`
      select percentile_cont(0.5) within group (order by extract(epoch from used_at - created_at)) as seconds
      from password_reset_tokens where used_at >= ${sinceIso} and used_at < ${nowIso}`,
  );

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
