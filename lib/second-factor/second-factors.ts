import "server-only";
import { eq, sql, type SQL } from "drizzle-orm";
import type { Database, Transaction } from "@/db/client";
import { passkeys, users } from "@/db/schema";

// "The account has a second factor" is asked by sign-in, reset, "Confirm it's you", the admin
// gate and the device flow. It means two-factor (TOTP, with its recovery codes) on OR at least
// one passkey, and is written once, here, as SQL over the `users` row in scope: each caller reads
// it in the same statement as the rest of its decision (the password hash, the token, the
// session), so a factor added a moment later cannot slip between the read and the act.

/** True when the `users` row of the enclosing query has two-factor on or at least one passkey. */
export function hasSecondFactorSql(): SQL<boolean> {
  return sql<boolean>`(${users.twoFactorEnabledAt} is not null or ${hasPasskeySql()})`;
}

/** True when the `users` row of the enclosing query has at least one passkey. */
export function hasPasskeySql(): SQL<boolean> {
  // Qualified by hand: in a one-table SELECT drizzle writes bare column names, and a bare "id"
  // inside the subquery would be the passkey's own.
  return sql<boolean>`exists (select 1 from ${passkeys} where "passkeys"."user_id" = "users"."id")`;
}

/** Which second factors an account has: codes (two-factor on, with recovery codes) and passkeys. */
export interface SecondFactors {
  totp: boolean;
  passkey: boolean;
}

/** The second factors of `userId` (none for an unknown user), read in one statement. */
export async function secondFactorsOf(db: Database | Transaction, userId: string): Promise<SecondFactors> {
  const [row] = await db
    .select({ totp: sql<boolean>`${users.twoFactorEnabledAt} is not null`, passkey: hasPasskeySql() })
    .from(users)
    .where(eq(users.id, userId));
  return { totp: row?.totp === true, passkey: row?.passkey === true };
}

/** True when `userId` must pass a second factor (sign-in, reset, "Confirm it's you"). */
export async function hasSecondFactor(db: Database | Transaction, userId: string): Promise<boolean> {
  const factors = await secondFactorsOf(db, userId);
  return factors.totp || factors.passkey;
}

/**
 * The second-factor methods an account offers, as the JSON API names them. Recovery codes stand
 * in for either factor (adding a passkey makes a set when the account has none).
 */
export function methodNames(factors: SecondFactors): ("totp" | "recovery_code" | "passkey")[] {
  const methods: ("totp" | "recovery_code" | "passkey")[] = [];
  if (factors.totp) methods.push("totp");
  if (factors.totp || factors.passkey) methods.push("recovery_code");
  if (factors.passkey) methods.push("passkey");
  return methods;
}
