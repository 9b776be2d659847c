import { randomBytes } from "node:crypto";
import postgres, { type Sql } from "postgres";
import { E2E } from "./settings";

export interface FreshDatabase {
  url: string;
  sql: Sql;
  /** Closes `sql` and drops the database (FORCE ends a server's connections still open). */
  drop(): Promise<void>;
}

/**
 * An empty database of its own on the run's PostgreSQL server, for a server a test starts
 * itself (startOwnServer applies the migrations). Never the run's database: a second
 * instance there would claim the shared server's jobs.
 */
export async function freshDatabase(label: string): Promise<FreshDatabase> {
  const name = `rekey_e2e_${label}_${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  const admin = postgres(E2E.adminDatabaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(E2E.adminDatabaseUrl);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {} });
  return {
    url: url.toString(),
    sql,
    drop: async () => {
      await sql.end();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}
