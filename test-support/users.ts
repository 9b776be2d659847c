// The one way a test gets an account: a row inserted directly, for tests that need an account
// but are not about registering (those call registerUser themselves and look at what it did).
import { randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import type { Database } from "@/db/client";
import { users } from "@/db/schema";
import { hashPassword } from "@/lib/password-hashing";

/** The password of every test user unless it asks for another. */
export const CURRENT_PASSWORD = "Correct-Horse-9";

/**
 * A unique, already-normalised address for one test. It starts with `label` ("account" unless
 * given), so its mask reads "a***@example.com".
 */
export function uniqueEmail(label = "account"): string {
  return `${label}-${randomUUID()}@example.com`;
}

export interface NewUser {
  email?: string;
  name?: string | null;
  /** Hashed as the app hashes; CURRENT_PASSWORD unless given. */
  password?: string;
  /** Stored as given instead of hashing `password`: a hash the test made, or null for an account without a password. */
  passwordHash?: string | null;
  /** Confirmed unless false: only a confirmed account signs in. */
  confirmed?: boolean;
}

/** A user created with a password: `password` signs in (once confirmed). */
export interface TestUser {
  id: string;
  email: string;
  password: string;
}

/** Inserts a user: confirmed, with CURRENT_PASSWORD, unless `options` say otherwise. */
export async function createUser(db: Database, options?: NewUser & { passwordHash?: undefined }): Promise<TestUser>;
/** Inserts a user with the hash given (or none): the test knows what, if anything, signs in. */
export async function createUser(db: Database, options: NewUser & { passwordHash: string | null }): Promise<Omit<TestUser, "password">>;
export async function createUser(db: Database, options: NewUser = {}): Promise<TestUser | Omit<TestUser, "password">> {
  const email = options.email ?? uniqueEmail();
  const password = options.password ?? CURRENT_PASSWORD;
  const passwordHash = options.passwordHash !== undefined ? options.passwordHash : await hashPassword(password);
  const [row] = await db
    .insert(users)
    .values({
      email,
      name: options.name ?? null,
      passwordHash,
      passwordChangedAt: passwordHash === null ? null : sql`now()`,
      emailVerified: (options.confirmed ?? true) ? sql`now()` : null,
    })
    .returning({ id: users.id, email: users.email });
  if (!row) throw new Error("user insert returned no row");
  return options.passwordHash !== undefined ? row : { ...row, password };
}

/** The stored password hash of a user, read straight from the table. */
export async function storedPasswordHash(db: Database, userId: string): Promise<string | null> {
  const [row] = await db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, userId));
  if (!row) throw new Error(`no user ${userId}`);
  return row.passwordHash;
}
