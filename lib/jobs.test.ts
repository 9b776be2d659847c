import { eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { useDatabaseForTests, type Database } from "@/db/client";
import { auditEvents, jobs, passwordResetTokens, sendPace } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { recordingQueries } from "@/test-support/query-counter";
import { createResendStandIn, type ResendStandIn } from "@/e2e/support/resend-stand-in.mjs";
import { collectingSchedule, dumpAllTables, RESET_LINK, uniqueIp } from "@/test-support/reset-helpers";
import { createUser, uniqueEmail } from "@/test-support/users";
import { overrideEnvForTests } from "./env";
import { reserveSendSlot, reserveSendSlotWithOthers } from "./mail/pace";
import { cleanUpExpiredRecords } from "./maintenance";
import { requestPasswordReset } from "./recovery/request";
import { requestRegistration } from "./accounts/register";
import { emailFingerprint, hashToken } from "./tokens";
import { claimJobs, enqueueJob, finishJob, LeaseLost, saveJobPayload } from "./jobs/queue";
import { backoffMs, drainJobs, retryDelayMs, runAcceptedJob, runJob } from "./jobs/runner";
import { seal, unseal } from "./jobs/seal";
import { ALL_JOBS } from "./job-definitions";
import { resetRequestJob } from "./recovery/jobs";

let standIn: ResendStandIn;
beforeAll(async () => {
  standIn = await createResendStandIn();
});
afterAll(async () => {
  await standIn.close();
});
beforeEach(() => {
  standIn.reset();
  overrideEnvForTests({
    RESEND_API_KEY: "re_test_key",
    RESEND_BASE_URL: standIn.url,
    MAIL_TIMEOUT_MS: "3000",
    MAIL_SENDS_PER_SECOND: "1000",
  });
  vi.spyOn(console, "log").mockImplementation(() => {});
  vi.spyOn(console, "error").mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
  overrideEnvForTests({});
});

async function jobRow(db: Database, id: string) {
  const [row] = await db.select().from(jobs).where(eq(jobs.id, id));
  if (!row) throw new Error(`no job ${id}`);
  return row;
}

/** Makes a waiting job due now (the test does not sit out the backoff). */
async function makeDue(db: Database, id: string): Promise<void> {
  await db
    .update(jobs)
    .set({ runAt: sql`now()` })
    .where(eq(jobs.id, id));
}

/** Requests a reset and returns the id of the job it queued, without running it. */
async function queueReset(db: Database, email: string): Promise<string> {
  await requestPasswordReset(db, { email, ip: uniqueIp(), userAgent: null }, collectingSchedule().schedule);
  const [row] = await db
    .select({ id: jobs.id })
    .from(jobs)
    .where(sql`${jobs.payload}->>'email' = ${email}`);
  if (!row) throw new Error("no job queued");
  return row.id;
}

/** The hash of the token in an emailed reset link, as the database keeps it. */
const linkHash = (request: { body: { text?: unknown } } | undefined) =>
  hashToken(String(request?.body.text).match(RESET_LINK)?.[1] ?? "no link");
const sentTo = (email: string) =>
  standIn.requests.filter((r) => r.body.to === email || (Array.isArray(r.body.to) && r.body.to.includes(email)));

describe("sealing job secrets", () => {
  it("round-trips, differs on every seal, and refuses an altered value", () => {
    const first = seal("a-token");
    expect(unseal(first)).toBe("a-token");
    expect(seal("a-token")).not.toBe(first);
    expect(first).not.toContain("a-token");
    const altered = first.slice(0, -3) + (first.endsWith("AAA") ? "BBB" : "AAA");
    expect(() => unseal(altered)).toThrow();
  });

  it("cannot be opened under another AUTH_SECRET", () => {
    overrideEnvForTests({ AUTH_SECRET: "a".repeat(40) });
    const sealed = seal("a-token");
    overrideEnvForTests({ AUTH_SECRET: "b".repeat(40) });
    expect(() => unseal(sealed)).toThrow();
  });
});

describe("retry delays", () => {
  it("double with each attempt, stay within the upper half of their ceiling, and stop growing at an hour", () => {
    expect(backoffMs(1, 1_000, () => 0)).toBe(500);
    expect(backoffMs(1, 1_000, () => 1)).toBe(1_000);
    expect(backoffMs(4, 1_000, () => 1)).toBe(8_000);
    expect(backoffMs(4, 1_000, () => 0)).toBe(4_000);
    expect(backoffMs(40, 1_000, () => 1)).toBe(3_600_000);
  });

  it("honour a Retry-After, never waiting less than told", () => {
    expect(retryDelayMs(1, 5_000, 1_000, () => 0)).toBe(5_000);
    expect(retryDelayMs(1, 5_000, 1_000, () => 1)).toBe(5_500);
  });
});

describeEachDatabase("durable deferred work", ({ handle, driver }) => {
  const db = () => handle().db;

  it("persists the work before the answer with the same write for every address, and erases the address once it is done", async () => {
    const user = await createUser(db());
    const unknown = uniqueEmail();
    const existingJob = await queueReset(db(), user.email);
    const unknownJob = await queueReset(db(), unknown);
    const before = [await jobRow(db(), existingJob), await jobRow(db(), unknownJob)];
    expect(before.map((j) => [j.kind, j.status, j.attempts, Object.keys(j.payload ?? {}).sort()])).toEqual([
      ["password_reset.request", "pending", 0, ["email", "ip", "userAgent"]],
      ["password_reset.request", "pending", 0, ["email", "ip", "userAgent"]],
    ]);

    await runJob(db(), ALL_JOBS, existingJob);
    await runJob(db(), ALL_JOBS, unknownJob);

    for (const id of [existingJob, unknownJob]) {
      expect(await jobRow(db(), id)).toMatchObject({ status: "done", payload: null, attempts: 1, claimId: null });
    }
    expect(sentTo(user.email)).toHaveLength(1);
    const dump = await dumpAllTables(db());
    for (const [table, rows] of Object.entries(dump)) {
      expect({ table, hasAddress: rows.includes(unknown) }).toEqual({ table, hasAddress: false });
    }
  });

  it("retries a failed send with the same token and idempotency key, and keeps the token only sealed meanwhile", async () => {
    overrideEnvForTests({
      RESEND_API_KEY: "re_test_key",
      RESEND_BASE_URL: standIn.url,
      MAIL_TIMEOUT_MS: "3000",
      MAIL_SENDS_PER_SECOND: "1000",
      JOBS_RETRY_BASE_MS: "60000",
    });
    const user = await createUser(db());
    standIn.script(user.email, [{ status: 500 }]);
    const id = await queueReset(db(), user.email);

    await runJob(db(), ALL_JOBS, id);
    const waiting = await jobRow(db(), id);
    expect(waiting).toMatchObject({ status: "pending", attempts: 1, lastError: "scripted_error" });
    // Backoff of the first retry: between half and all of JOBS_RETRY_BASE_MS.
    const delay = waiting.runAt.getTime() - Date.now();
    expect(delay).toBeGreaterThan(25_000);
    expect(delay).toBeLessThanOrEqual(60_000);
    const whileWaiting = await dumpAllTables(db());

    await makeDue(db(), id);
    await runJob(db(), ALL_JOBS, id);

    const attempts = sentTo(user.email);
    expect(attempts.map((a) => a.status)).toEqual([500, 200]);
    expect(attempts[1]?.headers["idempotency-key"]).toBe(attempts[0]?.headers["idempotency-key"]);
    expect(attempts[1]?.body.text).toBe(attempts[0]?.body.text);
    const token = String(attempts[1]?.body.text).match(RESET_LINK)?.[1];
    expect(token).toBeDefined();
    expect(await db().select().from(passwordResetTokens).where(eq(passwordResetTokens.userId, user.id))).toHaveLength(1);
    // The token was in the job row while it waited, but only sealed; its hash is where it belongs.
    expect(whileWaiting.password_reset_tokens).toContain(hashToken(token!));
    expect(whileWaiting.jobs).toContain("sealed");
    for (const [table, rows] of Object.entries({ ...whileWaiting, ...(await dumpAllTables(db())) })) {
      expect({ table, hasToken: rows.includes(token!) }).toEqual({ table, hasToken: false });
    }
    expect(await jobRow(db(), id)).toMatchObject({ status: "done", payload: null, attempts: 2 });
  });

  it("waits as long as a 429's Retry-After says before trying again", async () => {
    const user = await createUser(db());
    standIn.script(user.email, [{ status: 429, retryAfter: "30" }]);
    const id = await queueReset(db(), user.email);
    await runJob(db(), ALL_JOBS, id);
    const waiting = await jobRow(db(), id);
    expect(waiting.status).toBe("pending");
    expect(waiting.runAt.getTime() - Date.now()).toBeGreaterThan(28_000);
  });

  it("does not retry a definite refusal: the job is abandoned, logged and audited at once", async () => {
    overrideEnvForTests({
      RESEND_API_KEY: "re_test_key",
      RESEND_BASE_URL: standIn.url,
      MAIL_TIMEOUT_MS: "3000",
      MAIL_SENDS_PER_SECOND: "1000",
      LOG_LEVEL: "error",
    });
    const user = await createUser(db());
    standIn.script(user.email, [{ status: 422 }]);
    const id = await queueReset(db(), user.email);
    await runJob(db(), ALL_JOBS, id);
    expect(await jobRow(db(), id)).toMatchObject({ status: "failed", payload: null, attempts: 1, lastError: "scripted_error" });
    const abandoned = await db()
      .select()
      .from(auditEvents)
      .where(sql`${auditEvents.event} = 'job.abandoned' and ${auditEvents.details}->>'job_id' = ${id}`);
    expect(abandoned).toHaveLength(1);
    expect(sentTo(user.email)).toHaveLength(1);
    expect(vi.mocked(console.error).mock.calls.some(([line]) => String(line).includes('"event":"job.abandoned"'))).toBe(true);
  });

  it("abandons transient failures after JOBS_MAX_ATTEMPTS attempts", async () => {
    overrideEnvForTests({
      RESEND_API_KEY: "re_test_key",
      RESEND_BASE_URL: standIn.url,
      MAIL_TIMEOUT_MS: "3000",
      MAIL_SENDS_PER_SECOND: "1000",
      JOBS_MAX_ATTEMPTS: "3",
    });
    const user = await createUser(db());
    standIn.script(user.email, [{ status: 503 }, { status: 503 }, { status: 503 }, { status: 200 }]);
    const id = await queueReset(db(), user.email);
    for (let i = 0; i < 3; i += 1) {
      await makeDue(db(), id);
      await runJob(db(), ALL_JOBS, id);
    }
    expect(await jobRow(db(), id)).toMatchObject({ status: "failed", attempts: 3, payload: null });
    await makeDue(db(), id);
    expect(await runJob(db(), ALL_JOBS, id)).toBe(false);
    expect(sentTo(user.email).map((a) => a.status)).toEqual([503, 503, 503]);
  });

  it("lets another instance take over a job whose lease ran out; the first claimant can no longer touch it", async () => {
    const user = await createUser(db());
    const id = await queueReset(db(), user.email);
    const [first] = await claimJobs(db(), { ids: [id], limit: 1 });
    expect(first).toBeDefined();
    // While the lease holds, nobody else gets the job.
    expect(await claimJobs(db(), { ids: [id], limit: 1 })).toEqual([]);
    // The first instance died: its lease runs out.
    await db()
      .update(jobs)
      .set({ lockedUntil: sql`now() - interval '1 second'` })
      .where(eq(jobs.id, id));

    expect(await runJob(db(), ALL_JOBS, id)).toBe(true);
    expect(await jobRow(db(), id)).toMatchObject({ status: "done", attempts: 2 });
    expect(sentTo(user.email)).toHaveLength(1);
    await expect(saveJobPayload(db(), first!, { stale: true })).rejects.toThrow(LeaseLost);
    await finishJob(db(), first!, "failed", "stale");
    expect(await jobRow(db(), id)).toMatchObject({ status: "done", payload: null });
  });

  it("abandons a job whose sealed token no longer opens (AUTH_SECRET changed) instead of retrying it", async () => {
    overrideEnvForTests({
      RESEND_API_KEY: "re_test_key",
      RESEND_BASE_URL: standIn.url,
      MAIL_TIMEOUT_MS: "3000",
      MAIL_SENDS_PER_SECOND: "1000",
      AUTH_SECRET: "c".repeat(40),
    });
    const user = await createUser(db());
    standIn.script(user.email, [{ status: 500 }]);
    const id = await queueReset(db(), user.email);
    await runJob(db(), ALL_JOBS, id);
    expect(await jobRow(db(), id)).toMatchObject({ status: "pending" });

    overrideEnvForTests({
      RESEND_API_KEY: "re_test_key",
      RESEND_BASE_URL: standIn.url,
      MAIL_TIMEOUT_MS: "3000",
      MAIL_SENDS_PER_SECOND: "1000",
      AUTH_SECRET: "d".repeat(40),
    });
    await makeDue(db(), id);
    await runJob(db(), ALL_JOBS, id);
    expect(await jobRow(db(), id)).toMatchObject({ status: "failed", lastError: "sealed_secret_unreadable", payload: null });
    expect(sentTo(user.email)).toHaveLength(1);
  });

  it("keeps the password of a queued registration sealed, never in the clear", async () => {
    const password = "Queued-Secret-Pass-71";
    const { schedule, runAll } = collectingSchedule();
    await requestRegistration(db(), { email: uniqueEmail(), password, ip: uniqueIp(), userAgent: null }, schedule);
    const queued = await dumpAllTables(db());
    expect(queued.jobs).toContain("sealedPassword");
    for (const [table, rows] of Object.entries(queued)) {
      expect({ table, hasPassword: rows.includes(password) }).toEqual({ table, hasPassword: false });
    }
    await runAll();
    expect((await dumpAllTables(db())).jobs).not.toContain("sealedPassword");
  });

  it("removes finished jobs older than JOBS_RETENTION_DAYS in the cleanup, and nothing else", async () => {
    overrideEnvForTests({ JOBS_RETENTION_DAYS: "3" });
    const keep = collectingSchedule().schedule;
    const ids = await Promise.all(
      Array.from({ length: 4 }, () => enqueueJob(db(), resetRequestJob, { email: uniqueEmail(), ip: null, userAgent: null }, keep)),
    );
    const [oldDone, oldFailed, recentDone, pending] = ids as [string, string, string, string];
    await db()
      .update(jobs)
      .set({ status: "done", payload: null, finishedAt: sql`now() - interval '4 days'` })
      .where(eq(jobs.id, oldDone));
    await db()
      .update(jobs)
      .set({ status: "failed", payload: null, finishedAt: sql`now() - interval '4 days'` })
      .where(eq(jobs.id, oldFailed));
    await db()
      .update(jobs)
      .set({ status: "done", payload: null, finishedAt: sql`now() - interval '2 days'` })
      .where(eq(jobs.id, recentDone));
    // A job that never ran is not "finished", however old.
    await db()
      .update(jobs)
      .set({ createdAt: sql`now() - interval '30 days'`, runAt: sql`now() + interval '1 hour'` })
      .where(eq(jobs.id, pending));

    const report = await cleanUpExpiredRecords(db());

    expect(report.finishedJobs).toBeGreaterThanOrEqual(2);
    const left = (await db().select({ id: jobs.id }).from(jobs)).map((j) => j.id);
    expect(left).not.toContain(oldDone);
    expect(left).not.toContain(oldFailed);
    expect(left).toEqual(expect.arrayContaining([recentDone, pending]));
  });

  it("puts a send back in the queue without spending an attempt when the shared send rate is used up", async () => {
    // One send per 100 s: the first takes the free slot, the second's slot is past what a lease covers.
    overrideEnvForTests({
      RESEND_API_KEY: "re_test_key",
      RESEND_BASE_URL: standIn.url,
      MAIL_TIMEOUT_MS: "3000",
      MAIL_SENDS_PER_SECOND: "0.01",
    });
    try {
      const [first, second] = [await createUser(db()), await createUser(db())];
      const firstJob = await queueReset(db(), first.email);
      const secondJob = await queueReset(db(), second.email);
      await runJob(db(), ALL_JOBS, firstJob);
      await runJob(db(), ALL_JOBS, secondJob);

      expect(sentTo(first.email)).toHaveLength(1);
      expect(sentTo(second.email)).toHaveLength(0);
      const waiting = await jobRow(db(), secondJob);
      expect(waiting).toMatchObject({ status: "pending", attempts: 0, lastError: "paced" });
      expect(waiting.runAt.getTime() - Date.now()).toBeGreaterThan(90_000);
      const failures = await db()
        .select()
        .from(auditEvents)
        .where(sql`${auditEvents.event} = 'password_reset.email_failed' and ${auditEvents.userId} = ${second.id}`);
      expect(failures).toEqual([]);
    } finally {
      // The next tests send at full speed again.
      await db().delete(sendPace);
    }
  });

  it("shares one send rate across callers: slots 1/rate apart, none taken beyond the wait allowed", async () => {
    const name = `test-${driver}-${Date.now()}`;
    const first = await reserveSendSlot(db(), name, 2, 1_200);
    const second = await reserveSendSlot(db(), name, 2, 1_200);
    const third = await reserveSendSlot(db(), name, 2, 1_200);
    const fourth = await reserveSendSlot(db(), name, 2, 1_200);
    expect(first).toEqual({ ok: true, waitMs: 0 });
    expect(second.ok && second.waitMs).toBeGreaterThan(400);
    expect(third.ok && third.waitMs).toBeGreaterThan(900);
    // 1.5 s away is past the 1.2 s allowed: refused, and the slot stays free for later.
    expect(fourth).toMatchObject({ ok: false });
    expect(!fourth.ok && fourth.retryAfterMs).toBeGreaterThan(1_300);
  });

  it("takes the slots of sends that start together in one statement, and each alone when they do not all fit", async () => {
    const name = `test-together-${driver}-${Date.now()}`;
    const { db: recording, queries } = recordingQueries(handle());
    const reserve = () => reserveSendSlotWithOthers(recording, { name, perSecond: 2, maxWaitMs: 1_200 });

    const three = await Promise.all([reserve(), reserve(), reserve()]);
    expect(queries).toHaveLength(1);
    const waits = three.map((slot) => (slot.ok ? slot.waitMs : NaN));
    expect(waits[0]).toBe(0);
    expect(waits[1]! - waits[0]!).toBeCloseTo(500);
    expect(waits[2]! - waits[1]!).toBeCloseTo(500);

    // Four at once from a free rate: the fourth slot would be 1.5 s away, past the 1.2 s
    // allowed, so they are not taken together. Taken one by one, the first three fit.
    await db()
      .update(sendPace)
      .set({ nextSlotAt: sql`now()` })
      .where(eq(sendPace.name, name));
    const four = await Promise.all([reserve(), reserve(), reserve(), reserve()]);
    // Alone they race, so which of the four is refused varies; that one of them is does not.
    expect(four.filter((slot) => slot.ok)).toHaveLength(3);
    expect(queries.filter((q) => q.includes('insert into "send_pace"'))).toHaveLength(1 + 1 + 4);
  });

  /** Queues a reset request for each address without running it; answers the job ids in order. */
  async function queueRequests(emails: string[]): Promise<string[]> {
    const keep = collectingSchedule().schedule;
    const ids: string[] = [];
    for (const email of emails) ids.push(await enqueueJob(db(), resetRequestJob, { email, ip: uniqueIp(), userAgent: null }, keep));
    return ids;
  }

  const isClaim = (query: string) => /^update "jobs" set "status"/.test(query) && query.includes("for update skip locked");
  const isDecision = (query: string) => query.includes("jsonb_to_recordset") && query.includes("partition by held.fp");
  const isSlot = (query: string) => query.includes('insert into "send_pace"');

  /** The reset-request audit rows of `email`: requested (with whether the account exists) and throttled. */
  async function requestAudits(email: string) {
    const rows = await db()
      .select({ event: auditEvents.event, details: auditEvents.details })
      .from(auditEvents)
      .where(
        sql`${auditEvents.emailHmac} = ${emailFingerprint(email)} and ${auditEvents.event} in ('password_reset.requested', 'password_reset.throttled')`,
      );
    return {
      requested: rows.filter((r) => r.event === "password_reset.requested").map((r) => r.details),
      throttled: rows.filter((r) => r.event === "password_reset.throttled").length,
    };
  }

  it("claims jobs accepted together in one statement and decides their reset requests in one more, counting each address's limit request by request", async () => {
    const [twice, once] = [await createUser(db()), await createUser(db())];
    const unknown = [uniqueEmail(), uniqueEmail()];
    // Four requests for one address in one batch: the hourly limit of 3 lets three through.
    const ids = await queueRequests([twice.email, unknown[0]!, twice.email, once.email, twice.email, unknown[1]!, twice.email]);
    const { db: recording, queries } = recordingQueries(handle());
    // The mailer reaches the database through getDb(): record its statements too.
    useDatabaseForTests({ ...handle(), db: recording });

    await Promise.all(ids.map((id) => runAcceptedJob(recording, ALL_JOBS, id))).finally(() => useDatabaseForTests(handle()));

    expect(queries.filter(isClaim)).toHaveLength(1);
    expect(queries.filter(isDecision)).toHaveLength(1);
    // The known addresses' tokens are made by that same statement, not one statement each.
    expect(queries.filter((q) => q.includes('insert into "password_reset_tokens"'))).toEqual(queries.filter(isDecision));
    // Their four emails start side by side: one statement takes their four send slots.
    expect(queries.filter(isSlot)).toHaveLength(1);
    const rows = await db()
      .select()
      .from(jobs)
      .where(sql`${jobs.id} in ${ids}`);
    expect(rows.map((r) => [r.status, r.attempts, r.payload])).toEqual(ids.map(() => ["done", 1, null]));
    expect([sentTo(twice.email).length, sentTo(once.email).length, ...unknown.map((e) => sentTo(e).length)]).toEqual([3, 1, 0, 0]);
    // Every emailed link is a stored, unused token of its own account, under the token's own idempotency key.
    for (const user of [twice, once]) {
      const stored = await db().select().from(passwordResetTokens).where(eq(passwordResetTokens.userId, user.id));
      const sent = sentTo(user.email).map((r) => linkHash(r));
      expect(sent.sort()).toEqual(stored.map((t) => t.tokenHash).sort());
      expect(stored.every((t) => t.usedAt === null)).toBe(true);
      expect(
        sentTo(user.email)
          .map((r) => r.headers["idempotency-key"])
          .sort(),
      ).toEqual(stored.map((t) => `password-reset/${t.id}`).sort());
      // Each email's "sent" audit row, written with its job's end, names its token.
      const sentRows = await db()
        .select()
        .from(auditEvents)
        .where(sql`${auditEvents.event} = 'password_reset.email_sent' and ${auditEvents.userId} = ${user.id}`);
      expect(sentRows.map((r) => r.details?.token_id).sort()).toEqual(stored.map((t) => t.id).sort());
    }
    expect(await requestAudits(twice.email)).toEqual({ requested: Array(3).fill({ account_exists: true }), throttled: 1 });
    expect(await requestAudits(unknown[0]!)).toEqual({ requested: [{ account_exists: false }], throttled: 0 });
  });

  it("leaves only the newest link of a batch working when RESET_INVALIDATE_PREVIOUS_TOKENS is on", async () => {
    overrideEnvForTests({
      RESEND_API_KEY: "re_test_key",
      RESEND_BASE_URL: standIn.url,
      MAIL_SENDS_PER_SECOND: "1000",
      RESET_INVALIDATE_PREVIOUS_TOKENS: "true",
    });
    const user = await createUser(db());
    const [older] = await queueRequests([user.email]);
    await runAcceptedJob(db(), ALL_JOBS, older!);
    const ids = await queueRequests([user.email, user.email]);

    await Promise.all(ids.map((id) => runAcceptedJob(db(), ALL_JOBS, id)));

    expect(sentTo(user.email)).toHaveLength(3);
    const stored = await db().select().from(passwordResetTokens).where(eq(passwordResetTokens.userId, user.id));
    expect(stored).toHaveLength(3);
    const working = stored.filter((t) => t.usedAt === null);
    expect(working).toHaveLength(1);
    // The one that works was made by the batch and emailed.
    const [first] = sentTo(user.email);
    expect(working[0]!.tokenHash).not.toBe(linkHash(first));
    expect(sentTo(user.email).map((r) => linkHash(r))).toContain(working[0]!.tokenHash);
  });

  it("claims the jobs accepted while a claim is under way together, in the next claim", async () => {
    const ids = await queueRequests(Array.from({ length: 8 }, () => uniqueEmail()));
    const { db: recording, queries } = recordingQueries(handle());

    const first = runAcceptedJob(recording, ALL_JOBS, ids[0]!);
    await vi.waitFor(() => expect(queries.filter(isClaim)).toHaveLength(1), { interval: 1 });
    await Promise.all([first, ...ids.slice(1).map((id) => runAcceptedJob(recording, ALL_JOBS, id))]);

    expect(queries.filter(isClaim)).toHaveLength(2);
    expect(queries.filter(isDecision)).toHaveLength(2);
    const rows = await db()
      .select()
      .from(jobs)
      .where(sql`${jobs.id} in ${ids}`);
    expect(rows.map((r) => r.status)).toEqual(ids.map(() => "done"));
  });

  it("keeps an address's hourly limit when instances decide batches of its requests at the same time", async () => {
    const user = await createUser(db());
    await queueRequests(Array.from({ length: 12 }, () => user.email));

    // Four instances, three lanes each, each lane claiming up to 10 jobs at once.
    await Promise.all(Array.from({ length: 4 }, () => drainJobs(db(), ALL_JOBS, { concurrency: 3 })));

    expect(sentTo(user.email)).toHaveLength(3);
    expect(await requestAudits(user.email)).toEqual({ requested: Array(3).fill({ account_exists: true }), throttled: 1 });
  });

  it("runs every queued job exactly once when several instances drain one queue at the same time", async () => {
    const keep = collectingSchedule().schedule;
    const ids = await Promise.all(
      Array.from({ length: 30 }, () => enqueueJob(db(), resetRequestJob, { email: uniqueEmail(), ip: null, userAgent: null }, keep)),
    );
    const ran = await Promise.all(Array.from({ length: 4 }, () => drainJobs(db(), ALL_JOBS, { concurrency: 3 })));
    const rows = await db()
      .select()
      .from(jobs)
      .where(sql`${jobs.id} in ${ids}`);
    expect(rows.map((r) => [r.status, r.attempts])).toEqual(ids.map(() => ["done", 1]));
    expect(ran.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(30);
    const requested = await db().select().from(auditEvents).where(eq(auditEvents.event, "password_reset.requested"));
    expect(requested.length).toBeGreaterThanOrEqual(30);
  });
});
