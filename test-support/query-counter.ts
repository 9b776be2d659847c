// A second Drizzle instance over a test database's own connection, with a logger that records
// every statement sent: lets a test prove that some input costs no query at all.
import type { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import type { Sql } from "postgres";
import type { Database, DatabaseHandle } from "@/db/client";
import * as schema from "@/db/schema";

/** `db` talks to the same database as `handle`; `queries` lists the SQL it has sent. */
export function recordingQueries(handle: DatabaseHandle): { db: Database; queries: string[] } {
  const queries: string[] = [];
  const logger = { logQuery: (query: string) => void queries.push(query) };
  const client: unknown = (handle.db as unknown as { $client: unknown }).$client;
  const db =
    handle.driver === "pglite"
      ? (drizzlePglite(client as PGlite, { schema, logger }) as unknown as Database)
      : (drizzlePostgres(client as Sql, { schema, logger }) as unknown as Database);
  return { db, queries };
}
