import { createServer } from "node:net";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { describeEachDatabase, openTestDatabase, TEST_DATABASE_URL } from "@/test-support/databases";
import {
  checkDatabaseNow,
  isDatabaseAvailable,
  isDatabaseUnavailableError,
  noteDatabaseError,
  resetAvailabilityForTests,
} from "./availability";
import { lastConnectionClosedAt, queryRows, useDatabaseForTests, type Database, type DatabaseHandle } from "../db/client";

// Not a React hook, whatever its name: swaps the database getDb() answers with.
const installProcessDatabase = useDatabaseForTests;

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });

describe("isDatabaseUnavailableError", () => {
  it.each([
    ["a refused connection", withCode("ECONNREFUSED")],
    ["postgres.js's connect timeout", withCode("CONNECT_TIMEOUT")],
    ["a connection closed under a query", withCode("CONNECTION_CLOSED")],
    ["a server shutting down (57P01)", withCode("57P01")],
    ["a server starting up (57P03)", withCode("57P03")],
    ["a connection exception (class 08)", withCode("08006")],
    ["statement_timeout (57014)", withCode("57014")],
    ["lock_timeout (55P03)", withCode("55P03")],
  ])("recognises %s", (_name, error) => {
    expect(isDatabaseUnavailableError(error)).toBe(true);
  });

  it("looks through drizzle's wrapper, Auth.js's wrapper and an AggregateError", () => {
    const refused = withCode("ECONNREFUSED");
    expect(isDatabaseUnavailableError(new Error("Failed query", { cause: refused }))).toBe(true);
    expect(
      isDatabaseUnavailableError(
        Object.assign(new Error("CallbackRouteError"), { cause: { err: new Error("Failed query", { cause: refused }) } }),
      ),
    ).toBe(true);
    expect(isDatabaseUnavailableError(new AggregateError([withCode("ECONNREFUSED")]))).toBe(true);
  });

  it.each([
    ["a unique violation (23505)", withCode("23505")],
    ["a syntax error (42601)", withCode("42601")],
    ["a deadlock (40P01)", withCode("40P01")],
    ["a plain error", new Error("boom")],
    ["a string", "ECONNREFUSED"],
    ["null", null],
  ])("does not take %s for an outage", (_name, error) => {
    expect(isDatabaseUnavailableError(error)).toBe(false);
  });
});

// PostgreSQL only: PGlite has no connections to close.
if (TEST_DATABASE_URL)
  describe("isDatabaseAvailable on PostgreSQL", () => {
    let handle: Awaited<ReturnType<typeof openTestDatabase>>;
    beforeAll(async () => {
      handle = await openTestDatabase("postgres");
      useDatabaseForTests(handle);
    });
    afterAll(async () => {
      await handle?.dispose();
    });

    it("answers from a recent success without a query, and probes again as soon as a connection of the pool closes", async () => {
      resetAvailabilityForTests();
      const probes = vi.spyOn(handle.db, "execute");
      expect(await isDatabaseAvailable()).toBe(true);
      expect(await Promise.all([isDatabaseAvailable(), isDatabaseAvailable(), isDatabaseAvailable()])).toEqual([true, true, true]);
      expect(probes).toHaveBeenCalledTimes(1);

      // What a PostgreSQL shutdown does to the pool: the server ends every connection.
      const closedBefore = lastConnectionClosedAt();
      const admin = postgres(TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
      const [database] = await queryRows<{ name: string }>(handle.db, sql`select current_database() as name`);
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${database!.name} and application_name = 'rekey'`;
      await admin.end();
      await vi.waitFor(() => expect(lastConnectionClosedAt()).toBeGreaterThan(closedBefore));

      const before = probes.mock.calls.length;
      expect(await isDatabaseAvailable()).toBe(true);
      expect(probes.mock.calls.length - before).toBe(1);
      probes.mockRestore();
    });
  });

/** A port nothing listens on: connections to it are refused at once, as to a stopped PostgreSQL. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// What the routes (proxy.ts, the API's wrapper) and the health check read and write: one
// state per process. The database "goes down" by swapping the process database for a real
// postgres.js client whose server refuses connections, and "comes back" by swapping it back.
describeEachDatabase("the availability state the routes and the health check share", ({ handle }) => {
  let down: DatabaseHandle;
  const refused = () => Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
  const goDown = () => installProcessDatabase(down);
  const comeBack = () => installProcessDatabase(handle());

  beforeAll(async () => {
    const client = postgres(`postgres://postgres@127.0.0.1:${await closedPort()}/rekey`, {
      max: 1,
      connect_timeout: 2,
      onnotice: () => {},
    });
    down = { db: drizzle(client) as unknown as Database, driver: "postgres", close: () => client.end({ timeout: 1 }) };
  });
  afterAll(async () => {
    comeBack();
    await down?.close();
  });

  it("a health check that finds the database up ends the outage a route saw a moment ago, for the very next request", async () => {
    comeBack();
    resetAvailabilityForTests();
    expect(noteDatabaseError(refused())).toBe(true);
    // The routes alone would keep answering "down" for a second before probing again.
    expect(await isDatabaseAvailable()).toBe(false);
    expect(await checkDatabaseNow()).toEqual({ up: true });
    const probes = vi.spyOn(handle().db, "execute");
    expect(await isDatabaseAvailable()).toBe(true);
    expect(probes).not.toHaveBeenCalled();
    probes.mockRestore();
  });

  it("a health check that finds the database down makes the routes answer 'down' too, though they trusted a recent success", async () => {
    comeBack();
    resetAvailabilityForTests();
    expect(await isDatabaseAvailable()).toBe(true);
    goDown();
    // Trusted for up to a second without a query: the routes have not noticed yet.
    expect(await isDatabaseAvailable()).toBe(true);
    const health = await checkDatabaseNow();
    expect(health.up).toBe(false);
    expect(isDatabaseUnavailableError(health.error)).toBe(true);
    expect(await isDatabaseAvailable()).toBe(false);
    comeBack();
  });

  it("probes afresh on every health check while down, and says 'up' as soon as the database is back", async () => {
    resetAvailabilityForTests();
    goDown();
    expect((await checkDatabaseNow()).up).toBe(false);
    expect((await checkDatabaseNow()).up).toBe(false);
    comeBack();
    expect(await checkDatabaseNow()).toEqual({ up: true });
    expect(await isDatabaseAvailable()).toBe(true);
  });

  it("concurrent health checks and routes share one probe and one answer", async () => {
    comeBack();
    resetAvailabilityForTests();
    const probes = vi.spyOn(handle().db, "execute");
    const answers = await Promise.all([checkDatabaseNow(), isDatabaseAvailable(), checkDatabaseNow(), isDatabaseAvailable()]);
    expect(answers).toEqual([{ up: true }, true, { up: true }, true]);
    expect(probes).toHaveBeenCalledTimes(1);
    probes.mockRestore();
  });
});

// PostgreSQL only: a probe held up in the pool's queue needs real connections.
if (TEST_DATABASE_URL)
  describe("an older observation never overrules a newer one", () => {
    let handle: Awaited<ReturnType<typeof openTestDatabase>>;
    beforeAll(async () => {
      handle = await openTestDatabase("postgres");
      useDatabaseForTests(handle);
    });
    afterAll(async () => {
      await handle?.dispose();
    });

    it("a probe that began before a route saw an outage does not mark the database up when it ends", async () => {
      resetAvailabilityForTests();
      // Every connection of the pool (10) busy: the probe waits in the queue, begun but unanswered.
      // (drizzle's queries are lazy: then() sends them.)
      const busy = Array.from({ length: 10 }, () => handle.db.execute(sql`select pg_sleep(0.4)`).then(() => undefined));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const probing = isDatabaseAvailable();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(noteDatabaseError(Object.assign(new Error("terminated"), { code: "57P01" }))).toBe(true);
      expect(await probing).toBe(true);
      await Promise.all(busy);
      // The outage seen after the probe began still stands until the next probe.
      expect(await isDatabaseAvailable()).toBe(false);
      expect(await checkDatabaseNow()).toEqual({ up: true });
      expect(await isDatabaseAvailable()).toBe(true);
    });
  });
