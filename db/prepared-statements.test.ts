// db/client.ts prepares every statement with parameters once per PostgreSQL connection
// (DATABASE_PREPARED_STATEMENTS, on by default): proven here from PostgreSQL's own view of
// the connection, pg_prepared_statements, in and out of transactions.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "@/db/schema";
import { createPostgresDatabase, TEST_DATABASE_URL } from "@/test-support/databases";
import { openDatabase, queryRows, type Database, type DatabaseHandle, type Transaction } from "./client";

/** The statements prepared on the connection that runs this query. */
async function preparedOnThisConnection(db: Database | Transaction): Promise<string[]> {
  const rows = await queryRows<{ statement: string }>(db, sql`select statement from pg_prepared_statements`);
  return rows.map((r) => r.statement.replace(/\s+/g, " "));
}

describe.runIf(TEST_DATABASE_URL)("prepared statements [postgres]", () => {
  let database: { url: string; drop: () => Promise<void> };
  const handles: DatabaseHandle[] = [];
  const open = async (preparedStatements?: boolean) => {
    const handle = await openDatabase({ url: database.url, preparedStatements });
    handles.push(handle);
    return handle.db;
  };

  beforeAll(async () => {
    database = await createPostgresDatabase(TEST_DATABASE_URL ?? "");
  });
  afterAll(async () => {
    for (const handle of handles) await handle.close();
    await database?.drop();
  });

  it("prepares a statement with parameters once per connection, in a transaction and in a savepoint too, and answers as before", async () => {
    const db = await open();
    await db.transaction(async (tx) => {
      // One transaction is one connection: what it prepared is in that connection's view.
      const [row] = await queryRows<{ sum: number }>(tx, sql`select ${20}::int + ${22}::int as sum`);
      expect(row).toEqual({ sum: 42 });
      await tx
        .select({ id: users.id })
        .from(users)
        .where(sql`${users.email} = ${"nobody@example.com"}`);
      await tx.transaction(async (savepoint) => {
        await queryRows(savepoint, sql`select ${"in a savepoint"}::text as said`);
      });
      const prepared = await preparedOnThisConnection(tx);
      expect(prepared).toEqual(
        expect.arrayContaining([
          "select $1::int + $2::int as sum",
          expect.stringMatching(/^select "id" from "users" where "users"."email" = \$1$/),
          "select $1::text as said",
        ]),
      );
      // Run again, the same prepared statement serves: nothing new is prepared for it.
      await queryRows(tx, sql`select ${1}::int + ${2}::int as sum`);
      expect((await preparedOnThisConnection(tx)).filter((s) => s === "select $1::int + $2::int as sum")).toHaveLength(1);
    });
  });

  it("prepares nothing when turned off (DATABASE_PREPARED_STATEMENTS=0, for poolers that cannot keep them)", async () => {
    const db = await open(false);
    await db.transaction(async (tx) => {
      expect(await queryRows<{ sum: number }>(tx, sql`select ${20}::int + ${22}::int as sum`)).toEqual([{ sum: 42 }]);
      // (postgres.js prepares its own look-up of array types at connect; none of ours.)
      expect((await preparedOnThisConnection(tx)).filter((s) => s.includes("as sum"))).toEqual([]);
    });
  });

  it("keeps a string without parameters on the simple protocol, where several statements may run at once", async () => {
    const db = await open();
    await db.execute(sql.raw("create temporary table if not exists scratch (n int); drop table scratch"));
    await db.transaction(async (tx) => {
      await tx.execute(sql.raw("select 1 as one; select 2 as two"));
      expect((await preparedOnThisConnection(tx)).filter((s) => s.includes("as one"))).toEqual([]);
    });
  });
});
