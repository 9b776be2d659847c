import { sql, type SQL } from "drizzle-orm";
import { expect, it } from "vitest";
import { queryRows, type Database } from "@/db/client";
import { emailVerificationTokens, passwordChangeReportTokens, passwordResetTokens } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { recordingQueries } from "@/test-support/query-counter";
import { createUser } from "@/test-support/users";
import { consumeToken, lookUpToken, spendUserTokens, type SingleUseTokenTable } from "./single-use-tokens";
import { generateToken, hashToken } from "./tokens";

const TABLES: [string, SingleUseTokenTable][] = [
  ["password_reset_tokens", passwordResetTokens],
  ["email_verification_tokens", emailVerificationTokens],
  ["password_change_report_tokens", passwordChangeReportTokens],
];

const IN_AN_HOUR = sql`now() + interval '1 hour'`;
const A_MINUTE_AGO = sql`now() - interval '1 minute'`;

/** Inserts a token row for `userId` and returns the raw token (what a link would carry). */
async function insertToken(
  db: Database,
  table: SingleUseTokenTable,
  userId: string,
  options: { expiresAt?: SQL; usedAt?: SQL } = {},
): Promise<string> {
  const { token, hash } = generateToken();
  const values = { userId, tokenHash: hash, expiresAt: options.expiresAt ?? IN_AN_HOUR, usedAt: options.usedAt ?? null };
  if (table === emailVerificationTokens) await db.insert(emailVerificationTokens).values({ ...values, email: "token-owner@example.com" });
  else if (table === passwordResetTokens) await db.insert(passwordResetTokens).values(values);
  else await db.insert(passwordChangeReportTokens).values(values);
  return token;
}

/** used_at as PostgreSQL prints it (microseconds), or null. */
async function usedAtOf(db: Database, table: SingleUseTokenTable, token: string): Promise<string | null> {
  const [row] = await queryRows<{ used_at: string | null }>(
    db,
    sql`select used_at::text as used_at from ${table} where token_hash = ${hashToken(token)}`,
  );
  if (!row) throw new Error("no such token row");
  return row.used_at;
}

const MALFORMED = [
  "",
  "abc",
  "A".repeat(42),
  "A".repeat(44),
  `${"A".repeat(42)}=`,
  `${"A".repeat(42)}/`,
  "../../etc/passwd",
  "x".repeat(10_000),
];

describeEachDatabase("single-use tokens", ({ handle }) => {
  const db = () => handle().db;

  for (const [name, table] of TABLES) {
    it(`${name}: looks up a fresh token as valid, with its row id, owner and expiry, without spending it`, async () => {
      const user = await createUser(db());
      const token = await insertToken(db(), table, user.id);

      const first = await lookUpToken(db(), table, token);
      const second = await lookUpToken(db(), table, token);

      expect(first).toMatchObject({ status: "valid", userId: user.id });
      expect(first.status === "valid" && first.expiresAt.getTime()).toBeGreaterThan(Date.now());
      const [row] = await queryRows<{ id: string }>(db(), sql`select id from ${table} where token_hash = ${hashToken(token)}`);
      expect(first.status === "valid" && first.id).toBe(row?.id);
      expect(second).toEqual(first);
      expect(await usedAtOf(db(), table, token)).toBeNull();
    });

    it(`${name}: consumes a valid token once, returning its row, and calls it used from then on`, async () => {
      const user = await createUser(db());
      const token = await insertToken(db(), table, user.id);
      const before = await lookUpToken(db(), table, token);

      const consumed = await consumeToken(db(), table, token);

      expect(consumed).toEqual({ id: before.status === "valid" ? before.id : "not valid before", userId: user.id });
      expect(await usedAtOf(db(), table, token)).not.toBeNull();
      expect(await lookUpToken(db(), table, token)).toEqual({ status: "used", userId: user.id });
      expect(await consumeToken(db(), table, token)).toBeNull();
    });

    it(`${name}: calls a token past its expiry expired and refuses to consume it`, async () => {
      const user = await createUser(db());
      const token = await insertToken(db(), table, user.id, { expiresAt: A_MINUTE_AGO });

      expect(await lookUpToken(db(), table, token)).toEqual({ status: "expired", userId: user.id });
      expect(await consumeToken(db(), table, token)).toBeNull();
      expect(await usedAtOf(db(), table, token)).toBeNull();
    });

    it(`${name}: calls a used token used even after it has also expired`, async () => {
      const user = await createUser(db());
      const token = await insertToken(db(), table, user.id, { expiresAt: A_MINUTE_AGO, usedAt: sql`now() - interval '2 minutes'` });

      expect(await lookUpToken(db(), table, token)).toEqual({ status: "used", userId: user.id });
      expect(await consumeToken(db(), table, token)).toBeNull();
    });

    it(`${name}: calls an unknown well-formed token invalid`, async () => {
      const user = await createUser(db());
      await insertToken(db(), table, user.id);
      const unknown = generateToken().token;

      expect(await lookUpToken(db(), table, unknown)).toEqual({ status: "invalid" });
      expect(await consumeToken(db(), table, unknown)).toBeNull();
    });

    it(`${name}: answers malformed tokens without sending a query`, async () => {
      const recorded = recordingQueries(handle());

      for (const malformed of MALFORMED) {
        expect(await lookUpToken(recorded.db, table, malformed)).toEqual({ status: "invalid" });
        expect(await consumeToken(recorded.db, table, malformed)).toBeNull();
      }
      expect(recorded.queries).toEqual([]);

      // The recorder does see queries: a well-formed token costs one each.
      const wellFormed = generateToken().token;
      await lookUpToken(recorded.db, table, wellFormed);
      await consumeToken(recorded.db, table, wellFormed);
      expect(recorded.queries).toHaveLength(2);
    });

    it(`${name}: lets exactly one of twenty concurrent consumers have a token`, async () => {
      const user = await createUser(db());
      const token = await insertToken(db(), table, user.id);

      const results = await Promise.all(Array.from({ length: 20 }, () => consumeToken(db(), table, token)));

      const winners = results.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0]?.userId).toBe(user.id);
      expect(await lookUpToken(db(), table, token)).toEqual({ status: "used", userId: user.id });
    });

    it(`${name}: spends only the given user's unused tokens and leaves used ones as they were`, async () => {
      const user = await createUser(db());
      const other = await createUser(db());
      const unused = [await insertToken(db(), table, user.id), await insertToken(db(), table, user.id)];
      const expiredUnused = await insertToken(db(), table, user.id, { expiresAt: A_MINUTE_AGO });
      const alreadyUsed = await insertToken(db(), table, user.id, { usedAt: sql`now() - interval '1 day'` });
      const usedAtBefore = await usedAtOf(db(), table, alreadyUsed);
      const othersToken = await insertToken(db(), table, other.id);

      await spendUserTokens(db(), table, user.id);

      for (const token of unused) expect(await lookUpToken(db(), table, token)).toEqual({ status: "used", userId: user.id });
      expect(await usedAtOf(db(), table, expiredUnused)).not.toBeNull();
      expect(await usedAtOf(db(), table, alreadyUsed)).toBe(usedAtBefore);
      expect(await lookUpToken(db(), table, othersToken)).toMatchObject({ status: "valid", userId: other.id });
    });
  }

  it("keeps the three tables apart: a token of one kind is unknown to the others", async () => {
    const user = await createUser(db());
    for (const [, table] of TABLES) {
      const token = await insertToken(db(), table, user.id);
      for (const [, otherTable] of TABLES.filter(([, t]) => t !== table)) {
        expect(await lookUpToken(db(), otherTable, token)).toEqual({ status: "invalid" });
        expect(await consumeToken(db(), otherTable, token)).toBeNull();
      }
      expect(await lookUpToken(db(), table, token)).toMatchObject({ status: "valid" });
    }
  });
});
