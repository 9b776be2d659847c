// Migration 0002 on a database that already has users and sessions: existing sessions stay
// valid for the current credentials, and those of unconfirmed accounts end.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { afterAll, expect, it } from "vitest";
import { MIGRATIONS_FOLDER } from "./client";

let folder: string | undefined;
afterAll(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

/** A migrations folder holding only the migrations before 0002. */
async function migrationsBefore0002(): Promise<string> {
  folder = await mkdtemp(path.join(tmpdir(), "rekey-migrations-"));
  const journal = JSON.parse(await readFile(path.join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as {
    entries: { tag: string }[];
  };
  journal.entries = journal.entries.filter((e) => e.tag < "0002");
  await mkdir(path.join(folder, "meta"));
  await writeFile(path.join(folder, "meta", "_journal.json"), JSON.stringify(journal));
  for (const { tag } of journal.entries) await copyFile(path.join(MIGRATIONS_FOLDER, `${tag}.sql`), path.join(folder, `${tag}.sql`));
  return folder;
}

it("migration 0002 keeps confirmed accounts' sessions valid at version 1 and ends unconfirmed accounts' sessions", async () => {
  const client = new PGlite();
  const db = drizzle(client);
  await migrate(db, { migrationsFolder: await migrationsBefore0002() });
  await client.exec(`
    insert into users (id, email, email_verified_at) values ('confirmed', 'c@example.com', now()), ('unconfirmed', 'u@example.com', null);
    insert into sessions (session_token_hash, user_id, expires_at) values ('h1', 'confirmed', now() + interval '1 day'), ('h2', 'unconfirmed', now() + interval '1 day');
  `);

  await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  const { rows } = await client.query<{ user_id: string; session_version: number; user_version: number }>(
    `select s.user_id, s.credentials_version as session_version, u.credentials_version as user_version from sessions s join users u on u.id = s.user_id`,
  );
  expect(rows).toEqual([{ user_id: "confirmed", session_version: 1, user_version: 1 }]);
  // New rows must name their version: the default only filled the existing ones.
  await expect(
    client.query(`insert into sessions (session_token_hash, user_id, expires_at) values ('h3', 'confirmed', now())`),
  ).rejects.toThrow(/credentials_version/);
  await client.close();
}, 120_000);
