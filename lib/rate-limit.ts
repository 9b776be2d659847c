import "server-only";
import { eq, lt, sql } from "drizzle-orm";
import type { Database } from "@/db/client";
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
 * Counts one hit against `limit` for `subject` and says whether it is within the limit.
 * One atomic upsert, so the count holds across every app instance sharing the database.
 * Fixed window starting at the first hit.
 */
export async function consumeRateLimit(db: Database, limit: RateLimit, subject: string): Promise<RateLimitResult> {
  const key = `${limit.name}:${subject}`;
  const window = sql`make_interval(secs => ${limit.windowSeconds})`;
  const [row] = await db
    .insert(rateLimitBuckets)
    .values({
      key,
      count: 1,
      windowStartedAt: sql`now()`,
      windowEndsAt: sql`now() + ${window}`,
    })
    .onConflictDoUpdate({
      target: rateLimitBuckets.key,
      set: {
        count: sql`case when ${rateLimitBuckets.windowEndsAt} <= now() then 1 else ${rateLimitBuckets.count} + 1 end`,
        windowStartedAt: sql`case when ${rateLimitBuckets.windowEndsAt} <= now() then now() else ${rateLimitBuckets.windowStartedAt} end`,
        windowEndsAt: sql`case when ${rateLimitBuckets.windowEndsAt} <= now() then now() + ${window} else ${rateLimitBuckets.windowEndsAt} end`,
      },
    })
    .returning({
      count: rateLimitBuckets.count,
      retryAfterSeconds: sql<number>`greatest(1, ceil(extract(epoch from (${rateLimitBuckets.windowEndsAt} - now()))))::int`,
    });
  if (!row) throw new Error("rate limit upsert returned no row");
  if (row.count > limit.max) return { allowed: false, retryAfterSeconds: Number(row.retryAfterSeconds), refusedInWindow: row.count - limit.max };
  return { allowed: true, remaining: limit.max - row.count };
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
  if (row.count >= limit.max) return { allowed: false, retryAfterSeconds: Number(row.retryAfterSeconds), refusedInWindow: row.count - limit.max };
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
