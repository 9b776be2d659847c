import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import { beforeEach, expect, it } from "vitest";
import type { Database } from "@/db/client";
import { auditDailyCounts, auditEvents, jobs, passwordResetTokens } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { createUser } from "@/test-support/users";
import type { AuditEventName } from "../audit";
import { hashToken } from "../tokens";
import { readRecoveryStats } from "./stats";

const NOW = new Date("2026-03-10T12:00:00Z");

async function event(db: Database, name: AuditEventName, at: string, details: Record<string, string> = {}): Promise<void> {
  await db.insert(auditEvents).values({ event: name, createdAt: new Date(at), details });
}

describeEachDatabase("readRecoveryStats", ({ handle }) => {
  beforeEach(async () => {
    const { db } = handle();
    await db.delete(auditEvents);
    await db.delete(auditDailyCounts);
    await db.delete(passwordResetTokens);
    await db.delete(jobs);
  });

  it("counts each figure inside the period only, and the success rate is completed over emails sent", async () => {
    const { db } = handle();
    await event(db, "password_reset.requested", "2026-03-10T08:00:00Z");
    await event(db, "password_reset.requested", "2026-03-09T13:00:00Z");
    await event(db, "password_reset.requested", "2026-03-09T11:00:00Z"); // outside 24 h, inside 7 d
    await event(db, "password_reset.email_sent", "2026-03-10T08:00:01Z", { token_id: "a" });
    await event(db, "password_reset.email_sent", "2026-03-09T13:00:01Z", { token_id: "b" });
    await event(db, "password_reset.completed", "2026-03-10T08:02:01Z", { token_id: "a" });
    await event(db, "password_reset.token_invalid", "2026-03-10T09:00:00Z");
    await event(db, "password_reset.token_reused", "2026-03-10T09:00:00Z");
    await event(db, "password_reset.email_failed", "2026-03-10T09:00:00Z");
    await event(db, "password_reset.throttled", "2026-03-10T09:00:00Z");
    await event(db, "user.sign_in_failed", "2026-03-10T09:00:00Z");
    await event(db, "job.abandoned", "2026-03-10T09:00:00Z");
    await event(db, "password_reset.requested", "2026-03-10T12:00:01Z"); // after "now"

    const day = await readRecoveryStats(db, "24h", NOW);
    expect(day).toMatchObject({
      resetRequests: 2,
      resetEmailsSent: 2,
      resetsCompleted: 1,
      successRate: 0.5,
      invalidLinkAttempts: 2,
      emailsFailed: 1,
      emailJobsAbandoned: 1,
      throttledRequests: 1,
      failedSignIns: 1,
    });
    expect(day.daily).toEqual([
      { day: "2026-03-09", requests: 1, completions: 0 },
      { day: "2026-03-10", requests: 1, completions: 1 },
    ]);
    const week = await readRecoveryStats(db, "7d", NOW);
    expect(week.resetRequests).toBe(3);
    expect(week.daily).toHaveLength(8);
    expect(week.daily.at(-2)).toEqual({ day: "2026-03-09", requests: 2, completions: 0 });
  });

  it("has no success rate or median before any email or reset", async () => {
    const stats = await readRecoveryStats(handle().db, "24h", NOW);
    expect(stats).toMatchObject({ successRate: null, medianSecondsToReset: null, resetRequests: 0 });
  });

  it("counts a closed day once: a late row for it does not change the figures, a row for today does", async () => {
    const { db } = handle();
    await event(db, "password_reset.requested", "2026-03-05T08:00:00Z");
    expect((await readRecoveryStats(db, "7d", NOW)).resetRequests).toBe(1);
    await event(db, "password_reset.requested", "2026-03-05T09:00:00Z");
    await event(db, "password_reset.requested", "2026-03-10T09:00:00Z");
    const again = await readRecoveryStats(db, "7d", NOW);
    expect(again.resetRequests).toBe(2);
    expect(again.daily.find((d) => d.day === "2026-03-05")?.requests).toBe(1);
  });

  it("takes the median time to reset from used links, and counts unused links that expired in the period and pending jobs", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const token = (expiresAt: string, usedAt: Date | null) => ({
      userId: user.id,
      createdAt: new Date("2026-03-10T09:00:00Z"),
      tokenHash: hashToken(randomBytes(32).toString("base64url")),
      expiresAt: new Date(expiresAt),
      usedAt,
    });
    await db.insert(passwordResetTokens).values([
      token("2026-03-10T10:00:00Z", null),
      token("2026-03-10T10:00:00Z", new Date("2026-03-10T09:30:00Z")),
      token("2026-03-10T13:00:00Z", null), // still valid at NOW
      token("2026-03-01T10:00:00Z", null), // expired before the period
    ]);
    await db.insert(jobs).values([
      { kind: "password_reset.request", payload: {}, attempts: 0 },
      { kind: "password_reset.request", payload: {}, attempts: 2 },
      { kind: "password_reset.request", payload: null, status: "done", attempts: 1, finishedAt: sql`now()` as unknown as Date },
    ]);

    const stats = await readRecoveryStats(db, "24h", NOW);
    // The one link used in the period: requested 09:00, used 09:30.
    expect(stats).toMatchObject({ medianSecondsToReset: 1800, linksExpiredUnused: 1, queueDepth: 2, emailsRetrying: 1 });
  });
});
