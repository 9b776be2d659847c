// Integration tests run on every database Rekey supports: the embedded PGlite always, and
// PostgreSQL too when TEST_DATABASE_URL names a server (each file gets its own database).
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe } from "vitest";
import { openDatabase, useDatabaseForTests, type DatabaseHandle } from "@/db/client";

export type DriverName = "pglite" | "postgres";

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL?.trim() || undefined;
export const DRIVERS: DriverName[] = TEST_DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];

/** Creates an empty PostgreSQL database with a unique name; returns its URL and a dropper. */
export async function createPostgresDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `rekey_test_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const dropper = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await dropper.unsafe(`drop database if exists "${name}" with (force)`);
      await dropper.end();
    },
  };
}

/** Opens a fresh, migrated database of the given kind. */
export async function openTestDatabase(driver: DriverName): Promise<DatabaseHandle & { dispose(): Promise<void> }> {
  if (driver === "pglite") {
    const handle = await openDatabase({ dataDir: null });
    return { ...handle, dispose: () => handle.close() };
  }
  if (!TEST_DATABASE_URL) throw new Error("TEST_DATABASE_URL is not set");
  const created = await createPostgresDatabase(TEST_DATABASE_URL);
  const handle = await openDatabase({ url: created.url }).catch(async (error: unknown) => {
    await created.drop();
    throw error;
  });
  return {
    ...handle,
    dispose: async () => {
      await handle.close();
      await created.drop();
    },
  };
}

/**
 * Runs `suite` once per database. The handle is ready inside tests (not at collection time)
 * and is also installed as the process-wide database for code that calls getDb().
 */
export function describeEachDatabase(title: string, suite: (context: { handle: () => DatabaseHandle; driver: DriverName }) => void): void {
  for (const driver of DRIVERS) {
    describe(`${title} [${driver}]`, () => {
      let handle: (DatabaseHandle & { dispose(): Promise<void> }) | undefined;
      beforeAll(async () => {
        handle = await openTestDatabase(driver);
        useDatabaseForTests(handle);
      });
      afterAll(async () => {
        await handle?.dispose();
      });
      suite({
        driver,
        handle: () => {
          if (!handle) throw new Error("database not open yet");
          return handle;
        },
      });
    });
  }
}
