import { and, eq, inArray, sql } from "drizzle-orm";
import { afterEach, expect, it, vi } from "vitest";
import { auditEvents, rateLimitBuckets } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { collectingSchedule, uniqueIp } from "@/test-support/reset-helpers";
import { verifyEmail } from "./accounts/verify-email";
import { overrideEnvForTests } from "./env";
import { LINK_REFUSAL_LIMIT, auditLinkRefusal } from "./link-refusals";
import { renderMetrics } from "./metrics";
import { reportPasswordChange } from "./recovery/wasnt-me";
import { inspectResetToken, resetPassword } from "./recovery/reset";
import { generateToken } from "./tokens";

const UNRECORDED = 'rekey_audit_unrecorded_total{event="password_reset.token_invalid"}';

function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const garbageToken = () => generateToken().token;

describeEachDatabase("refused links, audited once per client IP and window", ({ handle, driver }) => {
  const db = () => handle().db;
  const rowsFrom = (ips: string[]) =>
    db()
      .select({ event: auditEvents.event, ip: auditEvents.ip, details: auditEvents.details })
      .from(auditEvents)
      .where(inArray(auditEvents.ip, ips));

  afterEach(() => {
    vi.restoreAllMocks();
    overrideEnvForTests({});
  });

  it("writes one row for 50 refused reset links from one IP, and counts the other 49 in the metric and in log lines", async () => {
    overrideEnvForTests({ LOG_LEVEL: "warn" });
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: string) => void lines.push(line));
    const ip = uniqueIp();
    const before = sample((await renderMetrics(db())).body, UNRECORDED);

    // Page views, form posts and API checks of links that never existed, as a scanner sends them.
    for (let i = 0; i < 50; i++) {
      const token = garbageToken();
      if (i % 2 === 0)
        expect(
          await resetPassword(db(), { token, password: "Irrelevant-Pass-1", ip, userAgent: null }, collectingSchedule().schedule),
        ).toMatchObject({ problem: "invalid" });
      else
        await auditLinkRefusal(db(), "password_reset", (await inspectResetToken(db(), token)).status as "invalid", { ip, userAgent: null });
    }

    expect(await rowsFrom([ip])).toEqual([{ event: "password_reset.token_invalid", ip, details: { problem: "invalid" } }]);
    expect(sample((await renderMetrics(db())).body, UNRECORDED) - before).toBe(49);
    const continuing = lines.map((l) => JSON.parse(l)).filter((l) => l.event === "password_reset.token_invalid.continuing");
    expect(continuing.map((l) => l.refused_in_window)).toEqual([2, 4, 8, 16, 32]);
  });

  it("writes one row per IP: two IPs, two rows, whatever the kind of link", async () => {
    const [first, second] = [uniqueIp(), uniqueIp()];
    for (let i = 0; i < 5; i++) {
      for (const ip of [first, second]) {
        await resetPassword(
          db(),
          { token: garbageToken(), password: "Irrelevant-Pass-1", ip, userAgent: null },
          collectingSchedule().schedule,
        );
        await verifyEmail(db(), { token: garbageToken(), password: "Irrelevant-Pass-1", ip, userAgent: null });
        await reportPasswordChange(db(), garbageToken(), { ip, userAgent: null }, collectingSchedule().schedule);
      }
    }
    const rows = await rowsFrom([first, second]);
    expect(rows.map((r) => r.ip).sort()).toEqual([first, second].sort());
    expect(rows.every((r) => r.event === "password_reset.token_invalid")).toBe(true);
  });

  it("names the link and the problem in the row: a verification link and a 'This wasn't me' link", async () => {
    const [verifyIp, reportIp] = [uniqueIp(), uniqueIp()];
    expect(await verifyEmail(db(), { token: garbageToken(), password: "Irrelevant-Pass-1", ip: verifyIp, userAgent: null })).toMatchObject({
      code: "TOKEN_PROBLEM",
    });
    expect(await reportPasswordChange(db(), garbageToken(), { ip: reportIp, userAgent: null }, collectingSchedule().schedule)).toEqual({
      ok: false,
      problem: "invalid",
    });
    expect(await rowsFrom([verifyIp])).toEqual([
      { event: "email_verification.link_refused", ip: verifyIp, details: { problem: "invalid" } },
    ]);
    expect(await rowsFrom([reportIp])).toEqual([
      { event: "password_change.report_link_refused", ip: reportIp, details: { problem: "invalid" } },
    ]);
  });

  it("writes a row again once the IP's window has ended", async () => {
    const ip = uniqueIp();
    await auditLinkRefusal(db(), "password_reset", "expired", { ip, userAgent: null });
    await auditLinkRefusal(db(), "password_reset", "expired", { ip, userAgent: null });
    await db()
      .update(rateLimitBuckets)
      .set({ windowEndsAt: sql`now() - interval '1 second'` })
      .where(eq(rateLimitBuckets.key, `${LINK_REFUSAL_LIMIT.name}:${ip}`));
    await auditLinkRefusal(db(), "password_reset", "used", { ip, userAgent: null });
    expect((await rowsFrom([ip])).map((r) => r.event)).toEqual(["password_reset.token_expired", "password_reset.token_reused"]);
  });

  // PGlite runs one query at a time: only PostgreSQL can show parallel refusals racing.
  if (driver === "postgres")
    it("writes exactly one row for 40 refusals from one IP sent in parallel", async () => {
      const ip = uniqueIp();
      await Promise.all(Array.from({ length: 40 }, () => auditLinkRefusal(db(), "password_reset", "invalid", { ip, userAgent: null })));
      const rows = await db()
        .select({ id: auditEvents.id })
        .from(auditEvents)
        .where(and(eq(auditEvents.ip, ip), eq(auditEvents.event, "password_reset.token_invalid")));
      expect(rows).toHaveLength(1);
    });
});
