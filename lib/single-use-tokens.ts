import "server-only";
import { eq, sql, type SQL } from "drizzle-orm";
import { queryRows, type Database, type Transaction } from "@/db/client";
import {
  accountDeletionCancelTokens,
  emailChangeTokens,
  emailChangeUndoTokens,
  emailVerificationTokens,
  passwordChangeReportTokens,
  passwordResetTokens,
  users,
} from "@/db/schema";
import { hasSecondFactorSql } from "./second-factor/second-factors";
import { hashToken, isWellFormedToken } from "./tokens";

/** The tables of emailed single-use links; they share these columns by design. */
export type SingleUseTokenTable =
  | typeof passwordResetTokens
  | typeof emailVerificationTokens
  | typeof passwordChangeReportTokens
  | typeof emailChangeTokens
  | typeof emailChangeUndoTokens
  | typeof accountDeletionCancelTokens;

// Drizzle cannot build one query over a union of tables; the columns used here have the same
// names and types in each, so one of them stands for all.
const as = (table: SingleUseTokenTable) => table as unknown as typeof passwordResetTokens;

export type TokenProblem = "invalid" | "expired" | "used";
export type TokenLookup = { status: "valid"; id: string; userId: string; expiresAt: Date } | { status: TokenProblem; userId?: string };

/** What a link's token is, without consuming it. Malformed tokens cost no query. */
export async function lookUpToken(db: Database | Transaction, table: SingleUseTokenTable, token: string): Promise<TokenLookup> {
  return (await lookUpTokenAndUser(db, table, token)).lookup;
}

/**
 * lookUpToken with the token's user (address, password hash, whether it has a second factor) read in
 * the same query; the user is null when the token is not valid.
 */
export async function lookUpTokenAndUser(
  db: Database | Transaction,
  table: SingleUseTokenTable,
  token: string,
): Promise<{ lookup: TokenLookup; user: { email: string; passwordHash: string | null; twoFactor: boolean } | null }> {
  if (!isWellFormedToken(token)) return { lookup: { status: "invalid" }, user: null };
  const t = as(table);
  const [row] = await db
    .select({
      id: t.id,
      userId: t.userId,
      expiresAt: t.expiresAt,
      usedAt: t.usedAt,
      expired: sql<boolean>`${t.expiresAt} <= now()`,
      email: users.email,
      passwordHash: users.passwordHash,
      twoFactor: hasSecondFactorSql(),
    })
    .from(t)
    .leftJoin(users, eq(users.id, t.userId))
    .where(eq(t.tokenHash, hashToken(token)));
  if (!row) return { lookup: { status: "invalid" }, user: null };
  // "Used" wins over "expired": it is what the person needs to know.
  if (row.usedAt) return { lookup: { status: "used", userId: row.userId }, user: null };
  if (row.expired) return { lookup: { status: "expired", userId: row.userId }, user: null };
  const user = row.email === null ? null : { email: row.email, passwordHash: row.passwordHash, twoFactor: Boolean(row.twoFactor) };
  return { lookup: { status: "valid", id: row.id, userId: row.userId, expiresAt: row.expiresAt }, user };
}

/**
 * Marks a token used if, and only if, it is unused and unexpired, and returns its row: the
 * one conditional UPDATE that makes a link work exactly once under concurrent requests.
 */
export async function consumeToken(
  tx: Database | Transaction,
  table: SingleUseTokenTable,
  token: string,
  owner?: SQL,
): Promise<{ id: string; userId: string } | null> {
  if (!isWellFormedToken(token)) return null;
  const [row] = await queryRows<{ id: string; user_id: string }>(tx, consumeTokenSql(table, token, owner));
  return row ? { id: row.id, userId: row.user_id } : null;
}

/**
 * consumeToken as SQL (a statement or a CTE body) returning `id, user_id`; call it only for a
 * well-formed token. `owner` (lockUserSql): the token counts only while it belongs to that
 * user, locked first.
 */
export function consumeTokenSql(table: SingleUseTokenTable, token: string, owner?: SQL): SQL {
  const t = as(table);
  return sql`update ${t} set used_at = now()
    where ${t.tokenHash} = ${hashToken(token)} and ${t.usedAt} is null and ${t.expiresAt} > now()
      ${owner ? sql`and ${t.userId} = ${owner}` : sql``}
    returning ${t.id}, ${t.userId}`;
}

/** Spends every unused token of a user in `table` (e.g. after a password change). */
export async function spendUserTokens(tx: Database | Transaction, table: SingleUseTokenTable, userId: string): Promise<void> {
  await tx.execute(spendUserTokensSql(table, userId));
}

/**
 * spendUserTokens as SQL (a statement or a CTE body), for one user or for every user id a
 * SELECT (`userIds`) answers; `when` (boolean SQL) makes it conditional.
 */
export function spendUserTokensSql(table: SingleUseTokenTable, user: string | { userIds: SQL }, when: SQL = sql`true`): SQL {
  const t = as(table);
  const owner = typeof user === "string" ? sql`${t.userId} = ${user}` : sql`${t.userId} in (${user.userIds})`;
  return sql`update ${t} set used_at = now() where ${owner} and ${t.usedAt} is null and ${when}`;
}

/**
 * Deletes tokens that stopped working more than `graceDays` ago (used or expired). The grace
 * keeps "already used" and "expired" answers accurate for a while instead of "not valid".
 */
export async function deleteStaleTokens(db: Database, table: SingleUseTokenTable, graceDays: number): Promise<number> {
  const t = as(table);
  const cutoff = sql`now() - make_interval(days => ${graceDays})`;
  const deleted = await db
    .delete(t)
    .where(sql`${t.expiresAt} < ${cutoff} or ${t.usedAt} < ${cutoff}`)
    .returning({ id: t.id });
  return deleted.length;
}
