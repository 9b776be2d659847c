// Imported by the app, by tests and by config-free scripts, so no "server-only" here.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { SQL } from "drizzle-orm";
import postgres from "postgres";
import * as schema from "./schema";

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];

export interface DatabaseHandle {
  db: Database;
  driver: "pglite" | "postgres";
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = path.join(process.cwd(), "db", "migrations");
// Any constant works; it only has to be the same in every instance of the app.
const MIGRATION_LOCK_ID = 7_240_001;

/** How long PostgreSQL may take before a request gives up (PGlite has none of these). */
export interface DatabaseTimeouts {
  connectSeconds: number;
  statementMs: number;
  lockMs: number;
}

type Sql = ReturnType<typeof postgres>;

/**
 * `client` with every statement that has parameters prepared once per connection, in
 * transactions and savepoints too. postgres.js prepares a string it runs with `unsafe()` only
 * when asked, and drizzle asks only for queries given a name (`.prepare("name")`), so
 * PostgreSQL parsed and planned each statement anew on every run: about half of a statement's
 * time in PostgreSQL here (pg_stat_statements), and postgres.js spent about 40% more on each.
 * A string without parameters keeps the simple protocol (the migrator's multi-statement files).
 */
export function preparingStatements(client: Sql): Sql {
  const wrapTransaction =
    (open: (...args: unknown[]) => unknown) =>
    (...args: unknown[]) => {
      const callback = args.pop() as (inner: Sql) => unknown;
      return open(...args, (inner: Sql) => callback(preparingStatements(inner)));
    };
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === "unsafe") {
        return (...args: Parameters<Sql["unsafe"]>) => {
          const [query, parameters, options] = args;
          if (!Array.isArray(parameters) || parameters.length === 0) return target.unsafe(...args);
          return target.unsafe(query, parameters, { ...options, prepare: true });
        };
      }
      if (property === "begin" || property === "savepoint") {
        const open = Reflect.get(target, property, receiver) as ((...args: unknown[]) => unknown) | undefined;
        return open ? wrapTransaction(open.bind(target)) : open;
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

// Short enough that no request hangs for more than a few seconds when the database is down,
// slow or locked; the app then answers 503 (see lib/availability.ts).
export const DEFAULT_TIMEOUTS: DatabaseTimeouts = { connectSeconds: 3, statementMs: 5_000, lockMs: 2_000 };

/**
 * Opens a database and applies pending migrations. `url` selects PostgreSQL; otherwise
 * PGlite in `dataDir` (or in memory when `dataDir` is null).
 */
export async function openDatabase(options: {
  url?: string;
  dataDir?: string | null;
  timeouts?: DatabaseTimeouts;
  /** PostgreSQL only; default true (see preparingStatements). */
  preparedStatements?: boolean;
}): Promise<DatabaseHandle> {
  if (options.url) {
    const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
    // Several app instances may start at once: one migrates, the others wait on the lock.
    // A one-connection client, because an advisory lock belongs to its connection. No
    // statement timeout here: a migration may rightly take long.
    const migrator = postgres(options.url, { max: 1, connect_timeout: timeouts.connectSeconds, onnotice: () => {} });
    try {
      await migrator`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
      await migratePostgres(drizzlePostgres(migrator), { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await migrator.end({ timeout: 5 });
    }
    const client = postgres(options.url, {
      max: 10,
      connect_timeout: timeouts.connectSeconds,
      onnotice: () => {},
      // Evidence for lib/availability.ts: a closed connection (the server shut down, the network
      // dropped) means its last "the database answers" may no longer hold.
      onclose: () => {
        globalForDb.__rekeyDbConnectionClosedAt = Date.now();
      },
      // Sent with every new connection, so they hold after the server restarts too.
      connection: {
        application_name: "rekey",
        statement_timeout: timeouts.statementMs,
        lock_timeout: timeouts.lockMs,
        // A transaction left open (a crashed request) must not hold a user's row lock for long.
        idle_in_transaction_session_timeout: 10_000,
      },
    });
    const db = drizzlePostgres(options.preparedStatements === false ? client : preparingStatements(client), {
      schema,
    }) as unknown as Database;
    return { db, driver: "postgres", close: () => client.end({ timeout: 5 }) };
  }

  // Loaded only here: a PostgreSQL deployment never pays for PGlite's code in its memory, and
  // PGlite being an ES module no longer makes every module importing this one asynchronous.
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("drizzle-orm/pglite"),
    import("drizzle-orm/pglite/migrator"),
  ]);
  const dataDir = options.dataDir ?? undefined;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const client = new PGlite(dataDir);
  await client.waitReady;
  const pglite = drizzlePglite(client, { schema });
  await migratePglite(pglite, { migrationsFolder: MIGRATIONS_FOLDER });
  return { db: pglite as unknown as Database, driver: "pglite", close: () => client.close() };
}

// One handle per process, kept on globalThis so that hot reload (and Next's separate module
// graphs for proxy and pages) reuse it: two PGlite instances on one folder lose writes.
const globalForDb = globalThis as unknown as { __rekeyDb?: Promise<DatabaseHandle>; __rekeyDbConnectionClosedAt?: number };

/** When a PostgreSQL connection of this process last closed (0: never). */
export function lastConnectionClosedAt(): number {
  return globalForDb.__rekeyDbConnectionClosedAt ?? 0;
}

/**
 * The process-wide database, opened (and migrated) by `open` on first use, never at build time
 * (lib/db.ts passes the settings it reads from the environment). A failed open is not kept:
 * the next call tries again.
 */
export function processDatabase(open: () => Promise<DatabaseHandle>): Promise<DatabaseHandle> {
  if (!globalForDb.__rekeyDb) {
    const opening = open();
    opening.catch(() => {
      if (globalForDb.__rekeyDb === opening) globalForDb.__rekeyDb = undefined;
    });
    globalForDb.__rekeyDb = opening;
  }
  return globalForDb.__rekeyDb;
}

/** Uses `handle` as the process-wide database (tests open their own). */
export function useDatabaseForTests(handle: DatabaseHandle): void {
  globalForDb.__rekeyDb = Promise.resolve(handle);
}

/**
 * Runs one raw statement and returns its rows under either driver (postgres.js answers an
 * array, PGlite `{ rows }`). For statements drizzle's builders cannot express, such as
 * data-modifying CTEs that fold several writes into one round trip.
 */
export async function queryRows<T>(db: Database | Transaction, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query);
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}
