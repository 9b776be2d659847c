import { sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openTestDatabase, TEST_DATABASE_URL } from "@/test-support/databases";
import { isDatabaseAvailable, isDatabaseUnavailableError, resetAvailabilityForTests } from "./availability";
import { lastConnectionClosedAt, queryRows, useDatabaseForTests } from "../db/client";

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
