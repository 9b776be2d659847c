import "server-only";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Database } from "@/db/client";
import { emailVerificationTokens, users } from "@/db/schema";
import { audit } from "../audit";
import { nextCredentialsVersion } from "../auth/sessions";
import { deleteUserSessions } from "../auth/user-sessions";
import { hashPassword } from "../password-hashing";
import { normalizeEmail } from "../validation/fields";

export type RegisterResult = { ok: true; userId: string; replaced: boolean } | { ok: false; code: "EMAIL_TAKEN" | "DELETION_PENDING" };

/**
 * Creates an account, or replaces one whose address was never confirmed. The email is
 * normalised here as well, so no caller can store a second spelling of an address; uniqueness
 * is the database's unique index, not a prior look-up.
 */
export async function registerUser(
  db: Database,
  input: { email: string; password: string; name?: string | undefined; ip?: string | null; userAgent?: string | null },
): Promise<RegisterResult> {
  const email = normalizeEmail(input.email);
  // Hashed before anyone knows whether the address is taken: the work (argon2 included) is
  // the same for a free address and a confirmed one.
  const passwordHash = await hashPassword(input.password);
  const context = { ip: input.ip ?? null, userAgent: input.userAgent ?? null };
  return db.transaction(async (tx) => {
    // An unconfirmed account is nobody's yet: whoever registered it never proved the address,
    // so a later registration takes its place (pre-hijacking: a stranger who registers first
    // must not end up owning the account when the real owner confirms). The conditional upsert
    // locks the user row first, as verifyEmail does, so a confirmation and a replacement
    // running together serialise instead of deadlocking, and a confirmed account is never
    // touched.
    const [row] = await tx
      .insert(users)
      .values({ email, name: input.name ?? null, passwordHash, passwordChangedAt: sql`now()` })
      .onConflictDoUpdate({
        target: users.email,
        set: { name: input.name ?? null, passwordHash, passwordChangedAt: sql`now()`, credentialsVersion: nextCredentialsVersion() },
        // Nor one pending deletion, confirmed or not: its owner may still cancel, and a newcomer must not inherit it.
        setWhere: and(isNull(users.emailVerified), isNull(users.deletionRequestedAt)),
      })
      .returning({ id: users.id, inserted: sql<boolean>`(xmax = 0)` });
    if (!row) {
      const [taken] = await tx.select({ pending: users.deletionRequestedAt }).from(users).where(eq(users.email, email));
      return { ok: false, code: taken?.pending ? "DELETION_PENDING" : "EMAIL_TAKEN" } as const;
    }
    if (row.inserted) {
      await audit(tx, { event: "user.registered", userId: row.id, ...context });
      return { ok: true, userId: row.id, replaced: false } as const;
    }
    // The earlier registration's links die with it (deleted, so they read "not valid" rather
    // than "already used, you may be confirmed"), and so does any session it still had.
    await tx.delete(emailVerificationTokens).where(eq(emailVerificationTokens.userId, row.id));
    await deleteUserSessions(tx, row.id);
    await audit(tx, { event: "user.registration_replaced", userId: row.id, ...context });
    return { ok: true, userId: row.id, replaced: true } as const;
  });
}
