import "server-only";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Database } from "@/db/client";
import { users } from "@/db/schema";
import { hashPassword, needsRehash, verifyDummyPassword, verifyPassword } from "../password-hashing";
import { hasPasskeySql, type SecondFactors } from "../second-factor/second-factors";

export type CredentialsResult =
  | {
      ok: true;
      user: {
        id: string;
        email: string;
        name: string | null;
        credentialsVersion: number;
        /** The account has a second factor (two-factor or a passkey): no session before it passes. */
        twoFactor: boolean;
        secondFactors: SecondFactors;
      };
    }
  | { ok: false; code: "INVALID_CREDENTIALS" }
  /** The password given was this account's until an administrator forced a reset (see below). */
  | { ok: false; code: "PASSWORD_RESET_FORCED" };

/**
 * Checks an email and password. An unknown email costs one argon2 verify too, so the answer's
 * timing does not say whether the account exists; an account whose address is not confirmed
 * yet is refused like a wrong password. A hash made with weaker parameters than those now in
 * force is replaced on success. The credentials version is read with the hash: the session
 * this check earns is valid only while it stays current (lib/auth/sessions.ts). `twoFactor`
 * says the account needs a second step before any session (lib/auth/sign-in.ts).
 */
export async function verifyCredentials(db: Database, email: string, password: string): Promise<CredentialsResult> {
  const [user] = await db
    .select({
      id: users.id,
      email: users.email,
      name: users.name,
      passwordHash: users.passwordHash,
      emailVerified: users.emailVerified,
      credentialsVersion: users.credentialsVersion,
      passwordResetForcedAt: users.passwordResetForcedAt,
      retiredPasswordHash: users.retiredPasswordHash,
      // In the same SELECT as the hash: the second-factor requirement is the one in force
      // when this password was checked, never one read a moment later.
      totp: sql<boolean>`${users.twoFactorEnabledAt} is not null`,
      passkey: hasPasskeySql(),
    })
    .from(users)
    // An account pending deletion is not found at all: everything below then runs as for an unknown address.
    .where(and(eq(users.email, email), isNull(users.deletionRequestedAt)));
  // After an administrator forced a reset, the owner is told why their password stopped
  // working, but only someone who types that old password learns it: they knew the secret
  // already, so they learn nothing a stranger could not (the account exists and is locked).
  // A wrong password gets the usual answer. It costs the same one argon2 verify as the dummy.
  if (user && !user.passwordHash && user.passwordResetForcedAt && user.retiredPasswordHash) {
    const wasTheirs = await verifyPassword(user.retiredPasswordHash, password);
    return { ok: false, code: wasTheirs ? "PASSWORD_RESET_FORCED" : "INVALID_CREDENTIALS" };
  }
  if (!user?.passwordHash) {
    await verifyDummyPassword(password);
    return { ok: false, code: "INVALID_CREDENTIALS" };
  }
  const matches = await verifyPassword(user.passwordHash, password);
  // Unconfirmed: the same one verify and the same answer as a wrong password. Until one person
  // has proved both the address and the password nobody signs in, and a registrant cannot
  // learn from sign-in whether the address they registered was free.
  if (!matches || !user.emailVerified) return { ok: false, code: "INVALID_CREDENTIALS" };

  if (needsRehash(user.passwordHash)) {
    const upgraded = await hashPassword(password);
    // Only if the hash is still the one we verified: a reset in between must win.
    await db
      .update(users)
      .set({ passwordHash: upgraded })
      .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash)));
  }
  return {
    ok: true,
    user: {
      id: user.id,
      email: user.email,
      name: user.name,
      credentialsVersion: user.credentialsVersion,
      twoFactor: user.totp || user.passkey,
      secondFactors: { totp: user.totp, passkey: user.passkey },
    },
  };
}
