// Durable deferred work, tried from outside: production servers started and killed by the
// test, each on its own fresh PostgreSQL database, the real Resend SDK against the stand-in.
import { createHash, randomBytes } from "node:crypto";
import type { Sql } from "postgres";
import { startOwnServer, type OwnServer } from "./api/support/own-server";
import { expect, insertUser, test, uniqueEmail } from "./support/fixtures";
import { freshDatabase } from "./support/fresh-database";
import { E2E } from "./support/settings";
import { standIn } from "./support/stand-in";

/**
 * The production settings every server of one test shares (one database, one AUTH_SECRET,
 * as instances of one deployment do); `extra` on top.
 */
function serverEnv(databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    AUTH_SECRET: createHash("sha256").update(databaseUrl).digest("base64url"),
    RESEND_API_KEY: "re_e2e_stand_in",
    RESEND_BASE_URL: E2E.resendUrl,
    EMAIL_FROM: "Rekey <no-reply@rekey.test>",
    RESET_REQUESTS_PER_IP_PER_HOUR: "100000",
    MAIL_TIMEOUT_MS: "3000",
    JOBS_LEASE_SECONDS: "8",
    JOBS_POLL_INTERVAL_MS: "300",
    JOBS_RETRY_BASE_MS: "300",
    LOG_LEVEL: "info",
    ...extra,
  };
}

async function requestReset(server: OwnServer, email: string): Promise<void> {
  const response = await fetch(`${server.url}/api/v1/auth/forgot-password`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email }),
  });
  expect(response.status).toBe(202);
}

const poll = (fn: () => Promise<number>, message: string, timeout: number) => expect.poll(fn, { message, timeout, intervals: [200] });

/**
 * How many jobs of the database are done. Done is final and written after the provider's
 * answer: once every job is, no send of theirs is still to come, and none will be repeated.
 */
async function doneJobs(sql: Sql): Promise<number> {
  const [row] = await sql`select count(*)::int as n from jobs where status = 'done'`;
  return row?.n as number;
}

test.describe("deferred work survives what after() alone did not", () => {
  test("an instance SIGKILLed while its send hangs: started again, the email arrives, once", async () => {
    test.setTimeout(120_000);
    const database = await freshDatabase("jobs");
    const email = uniqueEmail("killed");
    let first: OwnServer | undefined;
    let second: OwnServer | undefined;
    try {
      first = await startOwnServer(serverEnv(database.url));
      await insertUser(database.sql, { email, password: null });
      await standIn.script(email, [{ hang: true }]);
      await requestReset(first, email);
      await poll(async () => (await standIn.requests(email)).length, "the send reached the provider and hangs", 20_000).toBe(1);

      await first.kill("SIGKILL");
      const [job] = await database.sql`select status from jobs`;
      expect(job?.status).toBe("running");

      second = await startOwnServer(serverEnv(database.url));
      await poll(() => doneJobs(database.sql), "the job is done after the lease ran out", 40_000).toBe(1);
      expect(await standIn.messages(email)).toHaveLength(1);
      const attempts = await standIn.requests(email);
      expect(new Set(attempts.map((a) => a.idempotencyKey)).size).toBe(1);
      const jobs = await database.sql`select status, attempts, payload from jobs`;
      expect(jobs).toEqual([{ status: "done", attempts: 2, payload: null }]);
      expect(await database.sql`select id from password_reset_tokens`).toHaveLength(1);
    } finally {
      await first?.stop();
      await second?.stop();
      await database.drop();
    }
  });

  test("the provider answers 500, then 429 with Retry-After, then recovers: one email, after the wait it was told", async () => {
    test.setTimeout(90_000);
    const database = await freshDatabase("jobs");
    const email = uniqueEmail("flaky");
    let server: OwnServer | undefined;
    try {
      server = await startOwnServer(serverEnv(database.url));
      await insertUser(database.sql, { email, password: null });
      await standIn.script(email, [{ status: 500 }, { status: 429, retryAfter: 3 }]);
      await requestReset(server, email);

      await poll(() => doneJobs(database.sql), "the job is done once the provider recovers", 30_000).toBe(1);
      expect(await standIn.messages(email)).toHaveLength(1);
      const attempts = await standIn.requests(email);
      expect(attempts.map((a) => a.status)).toEqual([500, 429, 200]);
      expect(attempts[2]!.receivedAt - attempts[1]!.receivedAt).toBeGreaterThanOrEqual(3_000);
      expect(new Set(attempts.map((a) => a.idempotencyKey)).size).toBe(1);
    } finally {
      await server?.stop();
      await database.drop();
    }
  });

  test("two instances drain one queue under a burst of 200 requests: every email exactly once, paced to the rate", async () => {
    test.setTimeout(240_000);
    const rate = 20;
    const database = await freshDatabase("jobs");
    const prefix = `burst${randomBytes(3).toString("hex")}`;
    const emails = Array.from({ length: 200 }, (_, i) => `${prefix}-${i}@example.com`);
    const servers: OwnServer[] = [];
    try {
      const settings = serverEnv(database.url, { MAIL_SENDS_PER_SECOND: String(rate), JOBS_LEASE_SECONDS: "30" });
      servers.push(await startOwnServer(settings), await startOwnServer(settings));
      for (const email of emails) await insertUser(database.sql, { email, password: null });

      const started = Date.now();
      const queue = emails.map((email, i) => () => requestReset(servers[i % 2]!, email));
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          for (let next = queue.shift(); next; next = queue.shift()) await next();
        }),
      );
      // A burst queues, it does not fail: every answer came back at once.
      expect(Date.now() - started).toBeLessThan(60_000);

      await poll(() => doneJobs(database.sql), "all 200 jobs done", 120_000).toBe(200);
      const delivered = await standIn.messages(prefix, { prefix: true });
      expect(delivered).toHaveLength(200);
      expect(new Set(delivered.map((m) => m.to[0])).size).toBe(200);

      // Paced across both instances: the database hands out slots 1/rate apart, the first no
      // earlier than the burst's start, and no send leaves before its slot. However late any
      // send runs, the k-th arrival (from 0) is then at least k/rate seconds after the start:
      // the first k+1 arrivals hold k+1 distinct slots, the last of them at least that far on.
      // 5 ms of slack for whole-millisecond clocks in three processes. Without pacing, all 200
      // arrive within a second or two, where this asks for the last one 9.95 s after the start.
      const times = (await standIn.requests(prefix, { prefix: true })).map((a) => a.receivedAt).sort((a, b) => a - b);
      expect(times).toHaveLength(200);
      const step = 1_000 / rate;
      const early = times.map((t, k) => ({ k, ms: started + k * step - t })).filter(({ ms }) => ms > 5);
      test.info().annotations.push({ type: "pacing", description: `200 sends in ${times.at(-1)! - started} ms from the burst's start` });
      expect(early, "sends that arrived before their slot").toEqual([]);
      const jobs = await database.sql`select status, count(*)::int as n from jobs group by status`;
      expect(jobs).toEqual([{ status: "done", n: 200 }]);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      await database.drop();
    }
  });

  test("SIGTERM: the instance stops claiming work and finishes the send it holds before it exits", async () => {
    test.setTimeout(90_000);
    const database = await freshDatabase("jobs");
    const email = uniqueEmail("draining");
    let server: OwnServer | undefined;
    try {
      server = await startOwnServer(
        serverEnv(database.url, { JOBS_SHUTDOWN_GRACE_MS: "20000", MAIL_TIMEOUT_MS: "10000", JOBS_LEASE_SECONDS: "30" }),
      );
      await insertUser(database.sql, { email, password: null });
      await standIn.script(email, [{ delayMs: 3_000 }]);
      await requestReset(server, email);
      await poll(async () => (await standIn.requests(email)).length, "the send is in flight", 20_000).toBe(1);

      // Work that becomes due while the instance drains is left for another instance. Due a
      // second after the signal, not at once: inserted due now, it could be claimed before the
      // instance has handled the signal, which is not what this test is about.
      const [left] = await database.sql`insert into jobs (kind, payload, run_at)
        values ('password_reset.request', ${database.sql.json({ email: uniqueEmail("left"), ip: null, userAgent: null })}, now() + interval '1 second')
        returning run_at`;
      const exitedAt = await server.kill("SIGTERM");
      expect(exitedAt, "the instance was still up when the left job became due").toBeGreaterThan((left?.run_at as Date).getTime());

      const [message] = await standIn.messages(email);
      expect(message).toBeDefined();
      expect(exitedAt).toBeGreaterThanOrEqual(message!.receivedAt);
      const jobs = await database.sql`select status, attempts from jobs order by created_at`;
      expect(jobs).toEqual([
        { status: "done", attempts: 1 },
        { status: "pending", attempts: 0 },
      ]);
      expect(server.output()).toContain('"event":"job.shutdown_finished"');
    } finally {
      await server?.stop();
      await database.drop();
    }
  });
});
