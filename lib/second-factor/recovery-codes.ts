import "server-only";
import { createHash, randomInt } from "node:crypto";
import { and, count, eq, isNull } from "drizzle-orm";
import type { Database, Transaction } from "@/db/client";
import { recoveryCodes } from "@/db/schema";

export const RECOVERY_CODE_COUNT = 10;
// 16 characters of a 32-letter alphabet without 0/O, 1/I/L: 80 bits, printed as 4 groups of 4.
// That much entropy makes a fast hash (SHA-256) safe to store, as for link tokens.
const RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const RECOVERY_CODE_LENGTH = 16;

/** Ten fresh codes as shown to the user, "ABCD-EFGH-JKMN-PQRS". */
export function generateRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    let code = "";
    for (let i = 0; i < RECOVERY_CODE_LENGTH; i++) code += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
    return code.replace(/(.{4})(?!$)/g, "$1-");
  });
}

/** A typed recovery code in canonical form (case, spaces and dashes ignored), or null if it cannot be one. */
export function normalizeRecoveryCode(input: string): string | null {
  const code = input.toUpperCase().replace(/[\s-]+/g, "");
  if (code.length !== RECOVERY_CODE_LENGTH) return null;
  for (const c of code) if (!RECOVERY_ALPHABET.includes(c)) return null;
  return code;
}

/** What the database keeps of a recovery code: SHA-256 of its canonical form. */
export function hashRecoveryCode(code: string): string {
  const canonical = normalizeRecoveryCode(code);
  if (!canonical) throw new Error("not a recovery code");
  return createHash("sha256").update(`rekey:recovery-code:${canonical}`).digest("hex");
}

/** Replaces the user's recovery codes with fresh ones, stored hashed; returns them in the clear. */
export async function storeRecoveryCodes(tx: Transaction, userId: string): Promise<string[]> {
  const codes = generateRecoveryCodes();
  await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
  await tx.insert(recoveryCodes).values(codes.map((code) => ({ userId, codeHash: hashRecoveryCode(code) })));
  return codes;
}

/** How many of the user's recovery codes are unused. */
export async function recoveryCodesLeft(db: Database | Transaction, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)));
  return row?.n ?? 0;
}
