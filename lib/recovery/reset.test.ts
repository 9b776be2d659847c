import { and, eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it, vi } from "vitest";
import type { Database } from "@/db/client";
import { auditEvents, jobs, passwordResetTokens, rateLimitBuckets, sessions, users } from "@/db/schema";
import { passwordChangedSubject } from "@/emails/password-changed";
import { resetPasswordSubject } from "@/emails/reset-password";
import { describeEachDatabase } from "@/test-support/databases";
import { recordingQueries } from "@/test-support/query-counter";
import { createResendStandIn, type ResendStandIn } from "@/e2e/support/resend-stand-in.mjs";
import { CHROME_ON_WINDOWS, collectingSchedule, dumpAllTables, freshOutboxDir, RESET_LINK, uniqueIp } from "@/test-support/reset-helpers";
import { createUser, CURRENT_PASSWORD, uniqueEmail } from "@/test-support/users";
import { verifyCredentials } from "../auth/credentials";
import { insertSession } from "@/test-support/sessions";
import { env, overrideEnvForTests } from "../env";
import { readOutbox, type OutboxMessage } from "../mail/outbox";
import { RetryableJobError } from "../jobs/errors";
import { deliverPasswordReset } from "./deliver";
import { inspectResetToken, resetPassword } from "./reset";
import { requestPasswordReset } from "./request";
import { verifyPassword } from "../password-hashing";
import { emailFingerprint, hashToken } from "../tokens";

let outbox: { dir: string; remove: () => Promise<void> };
let standIn: ResendStandIn;

/** Outbox transport into this test's own directory, plus any overrides. */
function configure(overrides: Record<string, string | undefined> = {}): void {
  overrideEnvForTests({ RESEND_API_KEY: undefined, MAIL_OUTBOX_DIR: outbox.dir, ...overrides });
}

beforeAll(async () => {
  standIn = await createResendStandIn();
});
afterAll(async () => {
  await standIn.close();
});
beforeEach(async () => {
  outbox = await freshOutboxDir();
  standIn.reset();
  configure();
  // The outbox transport prints a "[mail] …" line per message for developers; quiet here.
  vi.spyOn(console, "log").mockImplementation(() => {});
});
afterEach(async () => {
  vi.restoreAllMocks();
  overrideEnvForTests({});
  await outbox.remove();
});

const mailTo = async (email: string): Promise<OutboxMessage[]> => (await readOutbox(outbox.dir)).filter((m) => m.to === email);

function tokenFrom(message: OutboxMessage | undefined): string {
  const match = message?.text.match(RESET_LINK);
  if (!match?.[1]) throw new Error(`no reset link in: ${message?.text}`);
  return match[1];
}

async function tokenRowsOf(db: Database, userId: string) {
  return db.select().from(passwordResetTokens).where(eq(passwordResetTokens.userId, userId));
}

async function countTokenRows(db: Database): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(passwordResetTokens);
  return Number(row?.n);
}

/** Requests a reset for `email`, runs the deferred work and returns the token from the email. */
async function requestToken(db: Database, email: string, ip = uniqueIp()): Promise<string> {
  const { schedule, runAll } = collectingSchedule();
  const answer = await requestPasswordReset(db, { email, ip, userAgent: CHROME_ON_WINDOWS }, schedule);
  expect(answer.ok).toBe(true);
  await runAll();
  const messages = await mailTo(email);
  return tokenFrom(messages[0]);
}

describeEachDatabase("password reset", ({ handle }) => {
  const db = () => handle().db;

  it("answers the same for an existing and an unknown address and does the account work only afterwards", async () => {
    const user = await createUser(db());
    const unknown = uniqueEmail();
    const tokensBefore = await countTokenRows(db());
    const { schedule, pending, runAll } = collectingSchedule();

    const forExisting = await requestPasswordReset(db(), { email: user.email, ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS }, schedule);
    const forUnknown = await requestPasswordReset(db(), { email: unknown, ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS }, schedule);

    expect(forExisting).toEqual({ ok: true, expiresInMinutes: env().RESET_TOKEN_TTL_MINUTES });
    expect(forUnknown).toStrictEqual(forExisting);
    expect(pending).toHaveLength(2);
    // Nothing that depends on the account has happened yet.
    expect(await countTokenRows(db())).toBe(tokensBefore);
    expect(await readOutbox(outbox.dir)).toEqual([]);

    await runAll();

    const toExisting = await mailTo(user.email);
    expect(toExisting).toHaveLength(1);
    expect(toExisting[0]?.subject).toBe(resetPasswordSubject);
    const link = toExisting[0]?.text.match(/\S*\/reset-password\/[A-Za-z0-9_-]{43}/)?.[0];
    expect(link?.startsWith(`${env().APP_URL}/reset-password/`)).toBe(true);
    expect(await mailTo(unknown)).toEqual([]);
    expect(await readOutbox(outbox.dir)).toHaveLength(1);
    expect(await countTokenRows(db())).toBe(tokensBefore + 1);
    expect(await tokenRowsOf(db(), user.id)).toHaveLength(1);
  });

  it("stores only the SHA-256 of the token, its expiry after the configured TTL, and the requester's IP and browser", async () => {
    configure({ RESET_TOKEN_TTL_MINUTES: "15" });
    const user = await createUser(db());
    const ip = uniqueIp();
    const token = await requestToken(db(), user.email, ip);

    const rows = await tokenRowsOf(db(), user.id);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.tokenHash).toBe(hashToken(token));
    expect(row.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.tokenHash).not.toContain(token);
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBe(15 * 60_000);
    expect(row.usedAt).toBeNull();
    expect(row.requestIp).toBe(ip);
    expect(row.requestUserAgent).toBe(CHROME_ON_WINDOWS);
  });

  it("sends at most three emails an hour to one address without saying so, counting unknown addresses too", async () => {
    const user = await createUser(db());
    const unknown = uniqueEmail();
    const answers: unknown[] = [];
    const throttledFor = async (email: string) =>
      db()
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.event, "password_reset.throttled"), eq(auditEvents.emailHmac, emailFingerprint(email))));

    for (const email of [user.email, unknown]) {
      for (let i = 1; i <= 4; i++) {
        const { schedule, pending, runAll } = collectingSchedule();
        answers.push(await requestPasswordReset(db(), { email, ip: uniqueIp(), userAgent: null }, schedule));
        expect(pending).toHaveLength(1);
        await runAll();
        if (i === 3) expect(await throttledFor(email)).toHaveLength(0);
      }
    }

    expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify({ ok: true, expiresInMinutes: 60 })]));
    expect(await mailTo(user.email)).toHaveLength(3);
    expect(await tokenRowsOf(db(), user.id)).toHaveLength(3);
    for (const email of [user.email, unknown]) {
      const throttled = await throttledFor(email);
      expect(throttled).toHaveLength(1);
      expect(throttled[0]?.details).toEqual({ limit: "email" });
    }
  });

  it("refuses a caller's requests past the per-IP limit with a retry time and schedules nothing, leaving other IPs alone", async () => {
    configure({ RESET_REQUESTS_PER_IP_PER_HOUR: "2" });
    const ip = uniqueIp();
    const { schedule, pending } = collectingSchedule();

    for (let i = 0; i < 2; i++) {
      expect(await requestPasswordReset(db(), { email: uniqueEmail(), ip, userAgent: null }, schedule)).toMatchObject({ ok: true });
    }
    expect(pending).toHaveLength(2);

    const refused = await requestPasswordReset(db(), { email: uniqueEmail(), ip, userAgent: null }, schedule);
    expect(refused).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    expect(refused.ok === false && refused.retryAfterSeconds).toBeGreaterThan(0);
    expect(pending).toHaveLength(2);
    const audited = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "password_reset.throttled"), eq(auditEvents.ip, ip)));
    expect(audited.map((a) => a.details)).toEqual([{ limit: "ip" }]);

    const other = await requestPasswordReset(db(), { email: uniqueEmail(), ip: uniqueIp(), userAgent: null }, schedule);
    expect(other).toMatchObject({ ok: true });
    expect(pending).toHaveLength(3);
  });

  it("answers the requests that arrive together with one statement, each counted in its place against its IP's limit", async () => {
    configure({ RESET_REQUESTS_PER_IP_PER_HOUR: "2" });
    const [busy, other] = [uniqueIp(), uniqueIp()];
    const requests = [busy, other, busy, busy, other, busy].map((ip) => ({ email: uniqueEmail(), ip, userAgent: null }));
    const { db: recording, queries } = recordingQueries(handle());
    const { schedule, pending, runAll } = collectingSchedule();

    const answers = await Promise.all(requests.map((r) => requestPasswordReset(recording, r, schedule)));

    // One write for the six: the hits of both IPs and the jobs of the requests within their limits.
    expect(queries.filter((q) => q.includes('insert into "jobs"'))).toHaveLength(1);
    const allowed = (ip: string) => answers.filter((a, n) => a.ok && requests[n]!.ip === ip).length;
    expect([allowed(busy), allowed(other)]).toEqual([2, 2]);
    for (const refused of answers.filter((a) => !a.ok))
      expect(refused).toMatchObject({ code: "RATE_LIMITED", retryAfterSeconds: expect.any(Number) });
    const throttled = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "password_reset.throttled"), eq(auditEvents.ip, busy)));
    expect(throttled.map((a) => a.details)).toEqual([{ limit: "ip" }]);
    // Each accepted request's own job is queued and scheduled: run, each ends done, and none other exists.
    const accepted = requests.filter((_, n) => answers[n]!.ok).map((r) => r.email);
    const queued = await db()
      .select()
      .from(jobs)
      .where(sql`${jobs.payload}->>'email' in ${requests.map((r) => r.email)}`);
    expect(queued.map((j) => j.payload?.email).sort()).toEqual([...accepted].sort());
    expect(pending).toHaveLength(4);
    await runAll();
    const ran = await db()
      .select({ status: jobs.status })
      .from(jobs)
      .where(sql`${jobs.id} in ${queued.map((j) => j.id)}`);
    expect(ran.map((j) => j.status)).toEqual(["done", "done", "done", "done"]);
  });

  it("keeps an IP's hourly limit when instances count batches of its requests at the same time", async () => {
    configure({ RESET_REQUESTS_PER_IP_PER_HOUR: "7" });
    const ip = uniqueIp();
    const { schedule } = collectingSchedule();
    // Four instances (each its own batches), five requests each, all at once.
    const instances = Array.from({ length: 4 }, () => recordingQueries(handle()));
    const answers = await Promise.all(
      instances.flatMap(({ db: instance }) =>
        Array.from({ length: 5 }, () => requestPasswordReset(instance, { email: uniqueEmail(), ip, userAgent: null }, schedule)),
      ),
    );

    expect(instances.map(({ queries }) => queries.filter((q) => q.includes('insert into "jobs"')).length)).toEqual([1, 1, 1, 1]);
    expect(answers.filter((a) => a.ok)).toHaveLength(7);
    const [bucket] = await db()
      .select()
      .from(rateLimitBuckets)
      .where(eq(rateLimitBuckets.key, `reset-ip:${ip}`));
    expect(bucket?.count).toBe(20);
    const throttled = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "password_reset.throttled"), eq(auditEvents.ip, ip)));
    expect(throttled).toHaveLength(1);
  });

  it("writes one audit row for a flood of refused requests from one IP, and one more once the next window is crossed", async () => {
    configure({ RESET_REQUESTS_PER_IP_PER_HOUR: "2" });
    const ip = uniqueIp();
    const { schedule, pending } = collectingSchedule();
    const throttledRows = async () =>
      db()
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.event, "password_reset.throttled"), eq(auditEvents.ip, ip)));

    const flood = async (count: number) => {
      const answers = [];
      for (let i = 0; i < count; i++)
        answers.push(await requestPasswordReset(db(), { email: uniqueEmail(), ip, userAgent: null }, schedule));
      return answers;
    };
    const first = await flood(200);
    expect(first.filter((a) => a.ok)).toHaveLength(2);
    expect(pending).toHaveLength(2);
    expect(await throttledRows()).toHaveLength(1);

    // The window ends: the next crossing is recorded again, once.
    await db()
      .update(rateLimitBuckets)
      .set({ windowEndsAt: sql`now() - interval '1 second'` })
      .where(eq(rateLimitBuckets.key, `reset-ip:${ip}`));
    const second = await flood(50);
    expect(second.filter((a) => a.ok)).toHaveLength(2);
    expect(await throttledRows()).toHaveLength(2);
  });

  it("writes one audit row for a flood of requests for one address past its hourly limit", async () => {
    const email = uniqueEmail();
    for (let i = 0; i < 40; i++) {
      const { schedule, runAll } = collectingSchedule();
      await requestPasswordReset(db(), { email, ip: uniqueIp(), userAgent: null }, schedule);
      await runAll();
    }
    const rows = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "password_reset.throttled"), eq(auditEvents.emailHmac, emailFingerprint(email))));
    expect(rows).toHaveLength(1);
  });

  it("shows a valid link with a masked address as often as asked without consuming it", async () => {
    const user = await createUser(db());
    const token = await requestToken(db(), user.email);

    for (let i = 0; i < 3; i++) {
      const seen = await inspectResetToken(db(), token);
      expect(seen).toMatchObject({ status: "valid", maskedEmail: "a***@example.com" });
      expect(seen.status === "valid" && seen.expiresAt.getTime()).toBeGreaterThan(Date.now());
    }
    expect((await tokenRowsOf(db(), user.id))[0]?.usedAt).toBeNull();

    const { schedule } = collectingSchedule();
    expect(await resetPassword(db(), { token, password: "Brand-New-Pass-41", ip: null, userAgent: null }, schedule)).toEqual({ ok: true });
  });

  it("says a link is expired once its expiry has passed", async () => {
    const user = await createUser(db());
    const token = await requestToken(db(), user.email);
    await db()
      .update(passwordResetTokens)
      .set({ expiresAt: sql`now() - interval '1 minute'` })
      .where(eq(passwordResetTokens.tokenHash, hashToken(token)));

    expect(await inspectResetToken(db(), token)).toEqual({ status: "expired" });
  });

  it("says a link is used once its password has been set", async () => {
    const user = await createUser(db());
    const token = await requestToken(db(), user.email);
    const { schedule } = collectingSchedule();
    expect(await resetPassword(db(), { token, password: "Brand-New-Pass-42", ip: null, userAgent: null }, schedule)).toEqual({ ok: true });

    expect(await inspectResetToken(db(), token)).toEqual({ status: "used" });
  });

  it("calls unknown and malformed tokens invalid", async () => {
    const unknownButWellFormed = "A".repeat(43);
    expect(await inspectResetToken(db(), unknownButWellFormed)).toEqual({ status: "invalid" });
    for (const malformed of ["abc", "x".repeat(10_000), "../x", "", `${"A".repeat(42)}=`]) {
      expect(await inspectResetToken(db(), malformed)).toEqual({ status: "invalid" });
    }
  });

  it("rejects a password that breaks the policy or equals the current one and leaves the token valid", async () => {
    const user = await createUser(db());
    const token = await requestToken(db(), user.email);
    const { schedule, pending } = collectingSchedule();

    const weak = await resetPassword(db(), { token, password: "short", ip: null, userAgent: null }, schedule);
    expect(weak).toMatchObject({ ok: false, code: "PASSWORD_REJECTED" });
    expect(weak.ok === false && weak.code === "PASSWORD_REJECTED" && weak.passwordErrors).toEqual(
      expect.arrayContaining(["Use 8 to 128 characters.", "Add an upper-case letter.", "Add a digit."]),
    );
    expect(await inspectResetToken(db(), token)).toMatchObject({ status: "valid" });

    const same = await resetPassword(db(), { token, password: CURRENT_PASSWORD, ip: null, userAgent: null }, schedule);
    expect(same).toEqual({ ok: false, code: "PASSWORD_REJECTED", passwordErrors: ["Choose a password different from your current one."] });
    expect(await inspectResetToken(db(), token)).toMatchObject({ status: "valid" });
    expect(pending).toHaveLength(0);
    expect((await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).ok).toBe(true);
  });

  it("sets the new password, confirms an unconfirmed address, ends every session, spends every outstanding link, and audits without secrets", async () => {
    const user = await createUser(db(), { confirmed: false });
    const other = await createUser(db());
    const [before] = await db().select().from(users).where(eq(users.id, user.id));
    expect(before?.emailVerified).toBeNull();
    // Unconfirmed: even its registration password does not sign in yet.
    expect(await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
    const token = await requestToken(db(), user.email);
    const [older] = await db()
      .select()
      .from(passwordResetTokens)
      .where(eq(passwordResetTokens.tokenHash, hashToken(token)));
    // A second, still-valid link for the same account.
    const { schedule: requestSchedule, runAll: deliver } = collectingSchedule();
    await requestPasswordReset(db(), { email: user.email, ip: uniqueIp(), userAgent: null }, requestSchedule);
    await deliver();
    const secondToken = tokenFrom((await mailTo(user.email)).find((m) => tokenFrom(m) !== token));
    expect(await inspectResetToken(db(), secondToken)).toMatchObject({ status: "valid" });

    await insertSession(db(), { userId: user.id, userAgent: CHROME_ON_WINDOWS, ip: "192.0.2.1" });
    await insertSession(db(), { userId: user.id, userAgent: null, ip: "192.0.2.2" });
    const survivor = await insertSession(db(), { userId: other.id, userAgent: null, ip: "192.0.2.3" });

    const newPassword = "Brand-New-Pass-43";
    const ip = uniqueIp();
    const { schedule } = collectingSchedule();
    expect(await resetPassword(db(), { token, password: newPassword, ip, userAgent: CHROME_ON_WINDOWS }, schedule)).toEqual({ ok: true });

    expect(await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
    expect(await verifyCredentials(db(), user.email, newPassword)).toMatchObject({ ok: true, user: { id: user.id } });
    const [after] = await db().select().from(users).where(eq(users.id, user.id));
    expect(after?.passwordChangedAt?.getTime()).toBeGreaterThan(before!.passwordChangedAt!.getTime());
    expect(after?.emailVerified).toBeInstanceOf(Date);

    expect(await db().select().from(sessions).where(eq(sessions.userId, user.id))).toEqual([]);
    expect(await db().select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, other.id))).toEqual([{ id: survivor.id }]);

    expect(await inspectResetToken(db(), secondToken)).toEqual({ status: "used" });
    expect((await tokenRowsOf(db(), user.id)).every((row) => row.usedAt !== null)).toBe(true);
    expect(await resetPassword(db(), { token, password: "Another-New-Pass-44", ip, userAgent: null }, schedule)).toEqual({
      ok: false,
      code: "TOKEN_PROBLEM",
      problem: "used",
    });
    expect(await resetPassword(db(), { token: secondToken, password: "Another-New-Pass-44", ip, userAgent: null }, schedule)).toEqual({
      ok: false,
      code: "TOKEN_PROBLEM",
      problem: "used",
    });

    const audits = await db().select().from(auditEvents).where(eq(auditEvents.userId, user.id));
    const completed = audits.filter((a) => a.event === "password_reset.completed");
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ ip, userAgent: CHROME_ON_WINDOWS, details: { token_id: older?.id } });
    expect(audits.filter((a) => a.event === "sessions.revoked").map((a) => a.details)).toEqual([{ count: 2, reason: "password_reset" }]);
    // Two refused links from one IP: one row (lib/link-refusals.ts), the second only counted.
    expect(audits.filter((a) => a.event === "password_reset.token_reused")).toHaveLength(1);
    const everyAuditRow = JSON.stringify(await db().select().from(auditEvents));
    for (const secret of [token, hashToken(token), secondToken, hashToken(secondToken), newPassword, CURRENT_PASSWORD, user.email]) {
      expect(everyAuditRow).not.toContain(secret);
    }
    expect(audits.some((a) => a.emailHmac === emailFingerprint(user.email))).toBe(true);
  });

  it("refuses an expired token and leaves the password as it was", async () => {
    const user = await createUser(db());
    const token = await requestToken(db(), user.email);
    await db()
      .update(passwordResetTokens)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(passwordResetTokens.tokenHash, hashToken(token)));
    const { schedule, pending } = collectingSchedule();

    expect(await resetPassword(db(), { token, password: "Brand-New-Pass-45", ip: null, userAgent: null }, schedule)).toEqual({
      ok: false,
      code: "TOKEN_PROBLEM",
      problem: "expired",
    });
    expect(pending).toHaveLength(0);
    expect((await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).ok).toBe(true);
    expect(
      await resetPassword(db(), { token: "A".repeat(43), password: "Brand-New-Pass-45", ip: null, userAgent: null }, schedule),
    ).toEqual({
      ok: false,
      code: "TOKEN_PROBLEM",
      problem: "invalid",
    });
  });

  it("lets exactly one of twenty concurrent submissions of one token set the password", async () => {
    const user = await createUser(db());
    const token = await requestToken(db(), user.email);
    const passwords = Array.from({ length: 20 }, (_, i) => `Racing-Pass-${i}-!q`);
    const { schedule, pending } = collectingSchedule();

    const results = await Promise.all(
      passwords.map((password) => resetPassword(db(), { token, password, ip: null, userAgent: null }, schedule)),
    );

    const winners = results.flatMap((r, i) => (r.ok ? [i] : []));
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toEqual(Array.from({ length: 19 }, () => ({ ok: false, code: "TOKEN_PROBLEM", problem: "used" })));
    expect(pending).toHaveLength(1);
    const [row] = await db().select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, user.id));
    const verified = await Promise.all(passwords.map((p) => verifyPassword(row!.passwordHash!, p)));
    expect(verified.flatMap((ok, i) => (ok ? [i] : []))).toEqual(winners);
  });

  it("never stores the raw token or the new password in any table", async () => {
    const user = await createUser(db());
    const token = await requestToken(db(), user.email);
    const newPassword = "Brand-New-Pass-46";
    const { schedule, runAll } = collectingSchedule();
    expect(await resetPassword(db(), { token, password: newPassword, ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS }, schedule)).toEqual({
      ok: true,
    });
    await runAll();

    const dump = await dumpAllTables(db());
    expect(Object.keys(dump)).toEqual(expect.arrayContaining(["password_reset_tokens", "audit_events", "users", "sessions"]));
    // The dump does see the token's hash, so a search for the token itself is meaningful.
    expect(dump.password_reset_tokens).toContain(hashToken(token));
    for (const [table, rows] of Object.entries(dump)) {
      expect({ table, hasToken: rows.includes(token) }).toEqual({ table, hasToken: false });
      expect({ table, hasPassword: rows.includes(newPassword) }).toEqual({ table, hasPassword: false });
    }
  });

  it("keeps earlier links valid after a new request by default", async () => {
    const user = await createUser(db());
    const first = await requestToken(db(), user.email);
    const second = await requestToken(db(), user.email);
    expect(second).not.toBe(first);

    expect(await inspectResetToken(db(), first)).toMatchObject({ status: "valid" });
    expect(await inspectResetToken(db(), second)).toMatchObject({ status: "valid" });
  });

  it("spends earlier links on a new request when RESET_INVALIDATE_PREVIOUS_TOKENS is true", async () => {
    configure({ RESET_INVALIDATE_PREVIOUS_TOKENS: "true" });
    const user = await createUser(db());
    const first = await requestToken(db(), user.email);
    const { schedule, runAll } = collectingSchedule();
    await requestPasswordReset(db(), { email: user.email, ip: uniqueIp(), userAgent: null }, schedule);
    await runAll();
    const second = tokenFrom((await mailTo(user.email)).find((m) => tokenFrom(m) !== first));

    expect(await inspectResetToken(db(), first)).toEqual({ status: "used" });
    expect(await inspectResetToken(db(), second)).toMatchObject({ status: "valid" });
  });

  it("emails a 'password changed' notice after the reset, naming the IP and the browser", async () => {
    const user = await createUser(db());
    const token = await requestToken(db(), user.email);
    const ip = uniqueIp();
    const { schedule, pending, runAll } = collectingSchedule();

    expect(await resetPassword(db(), { token, password: "Brand-New-Pass-47", ip, userAgent: CHROME_ON_WINDOWS }, schedule)).toEqual({
      ok: true,
    });
    expect(pending).toHaveLength(1);
    expect((await mailTo(user.email)).filter((m) => m.subject === passwordChangedSubject)).toEqual([]);

    await runAll();

    const notices = (await mailTo(user.email)).filter((m) => m.subject === passwordChangedSubject);
    expect(notices).toHaveLength(1);
    expect(notices[0]?.text).toContain(ip);
    expect(notices[0]?.text).toMatch(/Chrome 126 on Windows/);
    expect(notices[0]?.text).toContain(`${env().APP_URL}/forgot-password`);
    expect(notices[0]?.text).not.toMatch(RESET_LINK);
  });

  it("answers the same and records the failure when Resend fails or hangs", async () => {
    configure({ RESEND_API_KEY: "re_test_key", RESEND_BASE_URL: standIn.url, MAIL_TIMEOUT_MS: "5000" });
    const working = await createUser(db());
    const failing = await createUser(db());
    const hanging = await createUser(db());
    standIn.setModeFor(failing.email, "fail");
    standIn.setModeFor(hanging.email, "hang");

    const answers = [];
    const deliveries: Promise<void>[] = [];
    for (const user of [working, failing, hanging]) {
      const { schedule, pending } = collectingSchedule();
      answers.push(await requestPasswordReset(db(), { email: user.email, ip: uniqueIp(), userAgent: null }, schedule));
      expect(pending).toHaveLength(1);
      deliveries.push(pending[0]!());
    }
    expect(answers[1]).toStrictEqual(answers[0]);
    expect(answers[2]).toStrictEqual(answers[0]);

    // The work after the answer never rejects, even though two of the three sends went wrong:
    // the failed jobs wait in the queue for their retry.
    await expect(Promise.all(deliveries)).resolves.toEqual([undefined, undefined, undefined]);
    // Called directly, the handler throws the failure for the job runner to retry.
    standIn.setModeFor(working.email, "fail");
    await expect(deliverPasswordReset(db(), { email: working.email, ip: uniqueIp(), userAgent: null })).rejects.toThrow(RetryableJobError);

    // Every send reached the stand-in, so the failures are the provider's, not a wrong address.
    expect(standIn.requests.map((r) => `${String(r.body.to)} ${r.mode}`).sort()).toEqual(
      [`${working.email} ok`, `${failing.email} fail`, `${hanging.email} hang`, `${working.email} fail`].sort(),
    );
    const eventsOf = async (userId: string) =>
      (await db().select({ event: auditEvents.event }).from(auditEvents).where(eq(auditEvents.userId, userId))).map((e) => e.event);
    expect(await eventsOf(working.id)).toEqual(expect.arrayContaining(["password_reset.email_sent", "password_reset.email_failed"]));
    expect(await eventsOf(failing.id)).toContain("password_reset.email_failed");
    expect(await eventsOf(failing.id)).not.toContain("password_reset.email_sent");
    expect(await eventsOf(hanging.id)).toContain("password_reset.email_failed");
    expect(await eventsOf(hanging.id)).not.toContain("password_reset.email_sent");
    // The outbox was not used: Resend was the transport.
    expect(await readOutbox(outbox.dir)).toEqual([]);
  });
});
