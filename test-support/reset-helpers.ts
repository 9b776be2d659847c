// Small helpers shared by the password-reset and mail tests.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { queryRows, type Database } from "@/db/client";
import { ALL_JOBS } from "@/lib/job-definitions";
import type { Schedule } from "@/lib/jobs/definition";
import { runAcceptedJob } from "@/lib/jobs/runner";

export const CHROME_ON_WINDOWS =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

/** The token in a reset email's plain text, or undefined. */
export const RESET_LINK = /\/reset-password\/([A-Za-z0-9_-]{43})/;

/** A fresh, empty directory for the mail outbox; `remove` deletes it. */
export async function freshOutboxDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "rekey-outbox-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Stands in for lib/job-definitions.ts's afterResponse: collects the jobs so a test can look at
 * the world before they run, then run them as the app would (runAcceptedJob, every job kind).
 */
export function collectingSchedule(): { schedule: Schedule; pending: (() => Promise<void>)[]; runAll: () => Promise<void> } {
  const pending: (() => Promise<void>)[] = [];
  return {
    schedule: (db, jobId) => {
      pending.push(() => runAcceptedJob(db, ALL_JOBS, jobId));
    },
    pending,
    runAll: async () => {
      const tasks = pending.splice(0);
      await Promise.all(tasks.map((t) => t()));
    },
  };
}

let addressCounter = 0;

/** A unique IP per call, so one test's requests never count against another's limit. */
export function uniqueIp(): string {
  addressCounter += 1;
  return `10.${(process.pid % 250) + 1}.${Math.floor(addressCounter / 250)}.${(addressCounter % 250) + 1}`;
}

/** Every row of every table in the public schema, as one JSON string per table. */
export async function dumpAllTables(db: Database): Promise<Record<string, string>> {
  const tables = await queryRows<{ table_name: string }>(
    db,
    sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
  );
  const dump: Record<string, string> = {};
  for (const { table_name } of tables) {
    const rows = await queryRows(db, sql.raw(`select * from "public"."${table_name.replace(/"/g, '""')}"`));
    dump[table_name] = JSON.stringify(rows);
  }
  return dump;
}
