import { randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { beforeEach, expect, it } from "vitest";
import type { Database } from "@/db/client";
import { auditDailyCounts, auditEvents, passwordResetTokens, rateLimitBuckets, sessions } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { audit } from "./audit";
import { overrideEnvForTests } from "./env";
import { insertSession } from "@/test-support/sessions";
import { createUser } from "@/test-support/users";
import { cleanUpExpiredRecords } from "./maintenance";
import { hashToken } from "./tokens";

async function insertResetToken(db: Database, userId: string, state: { expiresAt: string; usedAt?: string }): Promise<string> {
  const tokenHash = hashToken(randomBytes(32).toString("base64url"));
  await db.insert(passwordResetTokens).values({
    userId,
    tokenHash,
    expiresAt: sql.raw(`now() + interval '${state.expiresAt}'`) as unknown as Date,
    usedAt: state.usedAt ? (sql.raw(`now() + interval '${state.usedAt}'`) as unknown as Date) : null,
  });
  return tokenHash;
}

describeEachDatabase("cleanUpExpiredRecords", ({ handle }) => {
  beforeEach(async () => {
    const { db } = handle();
    await db.delete(rateLimitBuckets);
    await db.delete(passwordResetTokens);
    await db.delete(sessions);
  });

  it("deletes ended rate-limit windows, expired sessions and links dead for over a week, and nothing else", async () => {
    const { db } = handle();
    const user = await createUser(db);
    await db.insert(rateLimitBuckets).values([
      {
        key: "test:ended",
        count: 3,
        windowStartedAt: sql`now() - interval '2 hours'` as unknown as Date,
        windowEndsAt: sql`now() - interval '1 hour'` as unknown as Date,
      },
      {
        key: "test:live",
        count: 3,
        windowStartedAt: sql`now()` as unknown as Date,
        windowEndsAt: sql`now() + interval '1 hour'` as unknown as Date,
      },
    ]);
    const live = await insertSession(db, { userId: user.id, ip: null, userAgent: null });
    const expired = await insertSession(db, { userId: user.id, ip: null, userAgent: null });
    await db
      .update(sessions)
      .set({ expires: sql`now() - interval '1 minute'` })
      .where(eq(sessions.id, expired.id));
    const keep = [
      await insertResetToken(db, user.id, { expiresAt: "1 hour" }),
      await insertResetToken(db, user.id, { expiresAt: "-1 day" }),
      await insertResetToken(db, user.id, { expiresAt: "-1 day", usedAt: "-2 days" }),
    ];
    const stale = [
      await insertResetToken(db, user.id, { expiresAt: "-8 days" }),
      await insertResetToken(db, user.id, { expiresAt: "1 hour", usedAt: "-8 days" }),
    ];
    await audit(db, { event: "sessions.revoked", userId: user.id });

    const report = await cleanUpExpiredRecords(db);

    expect(report).toMatchObject({ rateLimitBuckets: 1, sessions: 1, passwordResetTokens: 2 });
    expect((await db.select({ key: rateLimitBuckets.key }).from(rateLimitBuckets)).map((r) => r.key)).toEqual(["test:live"]);
    expect((await db.select({ id: sessions.id }).from(sessions)).map((r) => r.id)).toEqual([live.id]);
    const remaining = (await db.select({ tokenHash: passwordResetTokens.tokenHash }).from(passwordResetTokens)).map((r) => r.tokenHash);
    expect(remaining.sort()).toEqual([...keep].sort());
    expect(remaining).not.toContain(stale[0]);
    expect(await db.select().from(auditEvents).where(eq(auditEvents.userId, user.id))).toHaveLength(1);

    expect(await cleanUpExpiredRecords(db)).toMatchObject({ rateLimitBuckets: 0, sessions: 0, passwordResetTokens: 0 });
  });

  it("deletes audit events older than AUDIT_RETENTION_DAYS and keeps younger ones", async () => {
    const { db } = handle();
    overrideEnvForTests({ AUDIT_RETENTION_DAYS: "30" });
    try {
      const user = await createUser(db);
      const at = (age: string) => sql.raw(`now() - interval '${age}'`) as unknown as Date;
      await db.insert(auditEvents).values([
        { event: "user.signed_in", userId: user.id, createdAt: at("31 days") },
        { event: "user.signed_in", userId: user.id, createdAt: at("400 days") },
        { event: "user.signed_in", userId: user.id, createdAt: at("29 days") },
        { event: "user.signed_in", userId: user.id, createdAt: at("1 minute") },
      ]);

      const report = await cleanUpExpiredRecords(db);

      expect(report.auditEvents).toBeGreaterThanOrEqual(2);
      const left = await db.select({ createdAt: auditEvents.createdAt }).from(auditEvents).where(eq(auditEvents.userId, user.id));
      expect(left).toHaveLength(2);
      for (const row of left) expect(Date.now() - row.createdAt.getTime()).toBeLessThan(30 * 24 * 60 * 60 * 1000);
      expect((await cleanUpExpiredRecords(db)).auditEvents).toBe(0);
    } finally {
      overrideEnvForTests({});
    }
  });

  it("deletes the dashboard's daily roll-ups of days past AUDIT_RETENTION_DAYS with their events, and keeps the rest", async () => {
    const { db } = handle();
    overrideEnvForTests({ AUDIT_RETENTION_DAYS: "30" });
    try {
      const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
      const rows = [400, 32, 31, 29, 2].map((n) => ({ day: daysAgo(n), event: "user.signed_in", count: n }));
      await db.insert(auditDailyCounts).values(rows).onConflictDoNothing();

      const report = await cleanUpExpiredRecords(db);

      expect(report.auditDailyCounts).toBeGreaterThanOrEqual(3);
      const left = await db
        .select({ day: auditDailyCounts.day })
        .from(auditDailyCounts)
        .where(eq(auditDailyCounts.event, "user.signed_in"));
      // (The cleanup also rolls up the days other tests left events on: only these days are ours.)
      const ours = new Set(rows.map((r) => r.day));
      expect(
        left
          .map((r) => r.day)
          .filter((day) => ours.has(day))
          .sort(),
      ).toEqual([daysAgo(29), daysAgo(2)].sort());
      expect((await cleanUpExpiredRecords(db)).auditDailyCounts).toBe(0);
    } finally {
      overrideEnvForTests({});
    }
  });

  it("keeps audit events for 365 days by default", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const at = (age: string) => sql.raw(`now() - interval '${age}'`) as unknown as Date;
    await db.insert(auditEvents).values([
      { event: "user.signed_in", userId: user.id, createdAt: at("364 days") },
      { event: "user.signed_in", userId: user.id, createdAt: at("366 days") },
    ]);
    await cleanUpExpiredRecords(db);
    const left = await db.select({ createdAt: auditEvents.createdAt }).from(auditEvents).where(eq(auditEvents.userId, user.id));
    expect(left).toHaveLength(1);
  });
});
