// The app's database: db/client.ts opens it with the settings read here (db/ reads no configuration).
import path from "node:path";
import { openDatabase, processDatabase, type Database, type DatabaseHandle } from "@/db/client";
import { env } from "./env";

/** The process-wide database, opened (and migrated) on first use, never at build time. */
export function getDatabase(): Promise<DatabaseHandle> {
  return processDatabase(() => {
    const config = env();
    return openDatabase({
      url: config.DATABASE_URL,
      dataDir: path.resolve(config.DATA_DIR, "pglite"),
      timeouts: {
        connectSeconds: config.DATABASE_CONNECT_TIMEOUT_SECONDS,
        statementMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
        lockMs: config.DATABASE_LOCK_TIMEOUT_MS,
      },
      preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
    });
  });
}

/** Shorthand for `(await getDatabase()).db`. */
export async function getDb(): Promise<Database> {
  return (await getDatabase()).db;
}
