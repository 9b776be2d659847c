import "server-only";
import { eq, sql, type SQL } from "drizzle-orm";
import type { Transaction } from "@/db/client";
import { users } from "@/db/schema";

/**
 * Locks a user's row for the rest of the transaction; false when there is no such user.
 *
 * Every transaction that changes a user's credentials (reset, change password, "This wasn't
 * me") calls this first, before it touches any token or session row. One lock order means
 * they queue behind each other instead of deadlocking: before, a reset held its token row and
 * waited for the user row while a password change held the user row and waited to spend that
 * token. NO KEY UPDATE, not UPDATE: it does not block the foreign-key checks of concurrent
 * inserts (a sign-in's new session, an audit row) that only need the user to exist.
 */
export async function lockUser(tx: Transaction, userId: string): Promise<boolean> {
  const rows = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for("no key update");
  return rows.length > 0;
}

/**
 * lockUser as a scalar subquery (the user's id, or null) for the WHERE of a statement that then
 * changes a row of the user: evaluated as an init plan before that row is locked, it keeps the
 * one lock order (user row first) inside a single statement.
 */
export function lockUserSql(userId: string): SQL {
  return sql`(select ${users.id} from ${users} where ${users.id} = ${userId} for no key update)`;
}
