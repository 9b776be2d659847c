import { eq, sql } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import type { Database } from "@/db/client";
import { rateLimitBuckets } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { consumeRateLimit, deleteExpiredRateLimits, describeWait, peekRateLimit, resetRateLimit, type RateLimit } from "./rate-limit";

const LIMIT: RateLimit = { name: "test", max: 3, windowSeconds: 600 };

/** Moves a bucket's window so that it ended a second ago. */
async function endWindow(db: Database, limit: RateLimit, subject: string): Promise<void> {
  const updated = await db
    .update(rateLimitBuckets)
    .set({ windowEndsAt: sql`now() - interval '1 second'`, windowStartedAt: sql`now() - interval '1 hour'` })
    .where(eq(rateLimitBuckets.key, `${limit.name}:${subject}`))
    .returning({ key: rateLimitBuckets.key });
  expect(updated).toHaveLength(1);
}

async function consumeTimes(db: Database, limit: RateLimit, subject: string, times: number) {
  const results = [];
  for (let i = 0; i < times; i++) results.push(await consumeRateLimit(db, limit, subject));
  return results;
}

describeEachDatabase("rate limits", ({ handle, driver }) => {
  beforeEach(async () => {
    await handle().db.delete(rateLimitBuckets);
  });

  it("allows max hits, counting down what remains, then refuses with a wait within the window", async () => {
    const { db } = handle();
    const results = await consumeTimes(db, LIMIT, "203.0.113.1", 5);
    expect(results.slice(0, 3)).toEqual([
      { allowed: true, remaining: 2 },
      { allowed: true, remaining: 1 },
      { allowed: true, remaining: 0 },
    ]);
    for (const refused of results.slice(3)) {
      expect(refused.allowed).toBe(false);
      if (refused.allowed) continue;
      expect(Number.isInteger(refused.retryAfterSeconds)).toBe(true);
      expect(refused.retryAfterSeconds).toBeGreaterThan(0);
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(LIMIT.windowSeconds);
    }
  });

  it("gives each subject its own budget", async () => {
    const { db } = handle();
    await consumeTimes(db, LIMIT, "203.0.113.1", 4);
    expect(await consumeRateLimit(db, LIMIT, "203.0.113.2")).toEqual({ allowed: true, remaining: 2 });
  });

  it("gives each limit name its own budget for the same subject", async () => {
    const { db } = handle();
    await consumeTimes(db, LIMIT, "203.0.113.1", 4);
    expect(await consumeRateLimit(db, { ...LIMIT, name: "other" }, "203.0.113.1")).toEqual({ allowed: true, remaining: 2 });
  });

  it("restarts the count once the window has ended", async () => {
    const { db } = handle();
    const exhausted = await consumeTimes(db, LIMIT, "203.0.113.1", 4);
    expect(exhausted[3]?.allowed).toBe(false);

    await endWindow(db, LIMIT, "203.0.113.1");
    expect(await consumeRateLimit(db, LIMIT, "203.0.113.1")).toEqual({ allowed: true, remaining: 2 });

    const [bucket] = await db
      .select({ count: rateLimitBuckets.count, live: sql<boolean>`${rateLimitBuckets.windowEndsAt} > now()` })
      .from(rateLimitBuckets)
      .where(eq(rateLimitBuckets.key, "test:203.0.113.1"));
    expect(bucket).toEqual({ count: 1, live: true });
  });

  it(`allows exactly max of 30 concurrent hits (${driver})`, async () => {
    const { db } = handle();
    const limit: RateLimit = { name: "burst", max: 10, windowSeconds: 600 };
    const results = await Promise.all(Array.from({ length: 30 }, () => consumeRateLimit(db, limit, "203.0.113.9")));

    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    const remaining = results.flatMap((r) => (r.allowed ? [r.remaining] : [])).sort((a, b) => a - b);
    expect(remaining).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const [bucket] = await db
      .select({ count: rateLimitBuckets.count })
      .from(rateLimitBuckets)
      .where(eq(rateLimitBuckets.key, "burst:203.0.113.9"));
    expect(bucket?.count).toBe(30);
    // Exactly one of the refused hits is the one that crossed the limit (it alone is audited).
    const refusedCounts = results.flatMap((r) => (r.allowed ? [] : [r.refusedInWindow])).sort((a, b) => a - b);
    expect(refusedCounts).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it("peekRateLimit reports without counting a hit", async () => {
    const { db } = handle();
    expect(await peekRateLimit(db, LIMIT, "203.0.113.1")).toEqual({ allowed: true, remaining: 3 });
    expect(await db.select().from(rateLimitBuckets)).toEqual([]);

    await consumeTimes(db, LIMIT, "203.0.113.1", 2);
    for (let i = 0; i < 5; i++) expect(await peekRateLimit(db, LIMIT, "203.0.113.1")).toEqual({ allowed: true, remaining: 1 });
    expect(await consumeRateLimit(db, LIMIT, "203.0.113.1")).toEqual({ allowed: true, remaining: 0 });

    const spent = await peekRateLimit(db, LIMIT, "203.0.113.1");
    expect(spent.allowed).toBe(false);
    if (!spent.allowed) expect(spent.retryAfterSeconds).toBeGreaterThan(0);
  });

  it("peekRateLimit treats an ended window as a fresh budget", async () => {
    const { db } = handle();
    await consumeTimes(db, LIMIT, "203.0.113.1", 4);
    await endWindow(db, LIMIT, "203.0.113.1");
    expect(await peekRateLimit(db, LIMIT, "203.0.113.1")).toEqual({ allowed: true, remaining: 3 });
  });

  it("resetRateLimit forgets a subject's hits, and only that subject's", async () => {
    const { db } = handle();
    await consumeTimes(db, LIMIT, "203.0.113.1", 4);
    await consumeTimes(db, LIMIT, "203.0.113.2", 4);

    await resetRateLimit(db, LIMIT, "203.0.113.1");
    expect(await consumeRateLimit(db, LIMIT, "203.0.113.1")).toEqual({ allowed: true, remaining: 2 });
    expect((await consumeRateLimit(db, LIMIT, "203.0.113.2")).allowed).toBe(false);
  });

  it("deleteExpiredRateLimits removes only buckets whose window has ended", async () => {
    const { db } = handle();
    await consumeRateLimit(db, LIMIT, "ended-1");
    await consumeRateLimit(db, LIMIT, "ended-2");
    await consumeRateLimit(db, LIMIT, "live");
    await endWindow(db, LIMIT, "ended-1");
    await endWindow(db, LIMIT, "ended-2");

    expect(await deleteExpiredRateLimits(db)).toBe(2);
    const left = await db.select({ key: rateLimitBuckets.key }).from(rateLimitBuckets);
    expect(left).toEqual([{ key: "test:live" }]);
    expect(await deleteExpiredRateLimits(db)).toBe(0);
  });
});

describe("describeWait", () => {
  it("rounds a wait up to whole minutes, at least one", () => {
    expect(describeWait(0)).toBe("1 minute");
    expect(describeWait(60)).toBe("1 minute");
    expect(describeWait(61)).toBe("2 minutes");
    expect(describeWait(3600)).toBe("60 minutes");
  });
});
