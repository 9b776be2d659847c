import "server-only";
import { eq, lt, sql, type SQL } from "drizzle-orm";
import { queryRows, type Database } from "@/db/client";
import { rateLimitBuckets } from "@/db/schema";

export interface RateLimit {
  /** Names the limit in the bucket key, e.g. "reset-ip". */
  name: string;
  max: number;
  windowSeconds: number;
}

export type RateLimitResult =
  | { allowed: true; remaining: number }
  /** `refusedInWindow`: hits refused in this window so far, this one included (peek: without). */
  | { allowed: false; retryAfterSeconds: number; refusedInWindow: number };

/**
 * The atomic upsert that counts one hit against `limit` for `subject`, as SQL returning
 * ("count", retry_after_seconds). `from` (e.g. sql`from held`) makes it conditional: no row
 * there, no hit counted. Usable alone or as one CTE of a bigger statement.
 * Fixed window starting at the first hit.
 */
export function countHitSql(limit: RateLimit, subject: string, from: SQL = sql``): SQL {
  return countHitsSql(limit, sql`select ${subject}::text, 1 ${from}`);
}

/**
 * countHitSql for many subjects in one upsert: `hits` is a SELECT of (subject, hits) rows, one
 * per distinct subject. Each returned row also has the bucket's `key` (the limit's name, ":",
 * the subject) and its count after all of the subject's hits.
 */
export function countHitsSql(limit: RateLimit, hits: SQL): SQL {
  const window = sql`make_interval(secs => ${limit.windowSeconds})`;
  const ended = sql`b.window_ends_at <= now()`;
  return sql`insert into ${rateLimitBuckets} as b (key, count, window_started_at, window_ends_at)
    select ${`${limit.name}:`} || h.subject, h.hits, now(), now() + ${window} from (${hits}) as h(subject, hits)
    on conflict (key) do update set
      count = case when ${ended} then excluded.count else b.count + excluded.count end,
      window_started_at = case when ${ended} then now() else b.window_started_at end,
      window_ends_at = case when ${ended} then now() + ${window} else b.window_ends_at end
    returning b.key, b.count as "count", greatest(1, ceil(extract(epoch from (b.window_ends_at - now()))))::int as retry_after_seconds`;
}

/**
 * CTEs `hit` and `counted` for a batch of hits: every row of CTE `rows` (a SELECT with an `n`
 * column, its order) is one hit for its `subject`. `counted` is each row with its own count:
 * the bucket's count before the batch plus the row's place among the batch's hits for its
 * subject, as if the hits had come one by one, and the bucket's `retry_after_seconds`. Buckets
 * are upserted in key order, so that two batches sharing subjects lock them in the same order
 * and never deadlock.
 */
export function countEachHitSql(limit: RateLimit, rows: SQL, subject: SQL): SQL {
  return sql`hit as (${countHitsSql(limit, sql`select ${subject}, count(*)::int from ${rows} group by 1 order by 1`)}),
    counted as (
      select ${rows}.*, hit.retry_after_seconds,
        hit.count - count(*) over (partition by ${subject}) + row_number() over (partition by ${subject} order by ${rows}.n) as count
      from ${rows} join hit on hit.key = ${`${limit.name}:`} || ${subject})`;
}

/** A counted hit's row (from countHitSql) as the limit's answer. */
export function hitOutcome(limit: RateLimit, row: { count: number | string; retry_after_seconds: number | string }): RateLimitResult {
  const count = Number(row.count);
  if (count > limit.max) return { allowed: false, retryAfterSeconds: Number(row.retry_after_seconds), refusedInWindow: count - limit.max };
  return { allowed: true, remaining: limit.max - count };
}

/**
 * Counts one hit against `limit` for `subject` and says whether it is within the limit.
 * One atomic upsert, so the count holds across every app instance sharing the database.
 */
export async function consumeRateLimit(db: Database, limit: RateLimit, subject: string): Promise<RateLimitResult> {
  const [row] = await queryRows<{ count: number; retry_after_seconds: number }>(db, countHitSql(limit, subject));
  if (!row) throw new Error("rate limit upsert returned no row");
  return hitOutcome(limit, row);
}

/** Whether `subject` is over `limit` now, without counting a hit. */
export async function peekRateLimit(db: Database, limit: RateLimit, subject: string): Promise<RateLimitResult> {
  const [row] = await db
    .select({
      count: rateLimitBuckets.count,
      retryAfterSeconds: sql<number>`greatest(1, ceil(extract(epoch from (${rateLimitBuckets.windowEndsAt} - now()))))::int`,
      live: sql<boolean>`${rateLimitBuckets.windowEndsAt} > now()`,
    })
    .from(rateLimitBuckets)
    .where(eq(rateLimitBuckets.key, `${limit.name}:${subject}`));
  if (!row || !row.live) return { allowed: true, remaining: limit.max };
  if (row.count >= limit.max)
    return { allowed: false, retryAfterSeconds: Number(row.retryAfterSeconds), refusedInWindow: row.count - limit.max };
  return { allowed: true, remaining: limit.max - row.count };
}

/** Gives one hit back (an attempt counted up front that turned out not to count). */
export async function refundRateLimit(db: Database, limit: RateLimit, subject: string): Promise<void> {
  await db
    .update(rateLimitBuckets)
    .set({ count: sql`greatest(${rateLimitBuckets.count} - 1, 0)` })
    .where(eq(rateLimitBuckets.key, `${limit.name}:${subject}`));
}

/** Forgets `subject`'s hits against `limit` (e.g. failed sign-ins after a success). */
export async function resetRateLimit(db: Database, limit: RateLimit, subject: string): Promise<void> {
  await db.delete(rateLimitBuckets).where(eq(rateLimitBuckets.key, `${limit.name}:${subject}`));
}

/** Deletes buckets whose window has ended; returns how many. */
export async function deleteExpiredRateLimits(db: Database): Promise<number> {
  const deleted = await db
    .delete(rateLimitBuckets)
    .where(lt(rateLimitBuckets.windowEndsAt, sql`now()`))
    .returning({ key: rateLimitBuckets.key });
  return deleted.length;
}

/** "N minutes" (at least one) for a wait given in seconds. */
export function describeWait(seconds: number): string {
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}
