// Inserts user rows directly, for tests that need an account but are not about registering.
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Database } from "@/db/client";
import { users } from "@/db/schema";

/** A unique, already-normalised email address for one test. */
export function uniqueEmail(label = "user"): string {
  return `${label}-${randomUUID()}@example.com`;
}

/**
 * Inserts a user; `passwordHash` is stored as given (null for an account without a password).
 * The address is confirmed unless `emailVerified` is null: only confirmed accounts sign in.
 */
export async function insertUser(
  db: Database,
  values: { email?: string; name?: string | null; passwordHash?: string | null; emailVerified?: Date | null } = {},
): Promise<{ id: string; email: string }> {
  const email = values.email ?? uniqueEmail();
  const emailVerified = values.emailVerified === undefined ? new Date() : values.emailVerified;
  const [row] = await db
    .insert(users)
    .values({ email, name: values.name ?? null, passwordHash: values.passwordHash ?? null, emailVerified })
    .returning({ id: users.id, email: users.email });
  if (!row) throw new Error("user insert returned no row");
  return row;
}

/** The stored password hash of a user, read straight from the table. */
export async function storedPasswordHash(db: Database, userId: string): Promise<string | null> {
  const [row] = await db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, userId));
  if (!row) throw new Error(`no user ${userId}`);
  return row.passwordHash;
}
