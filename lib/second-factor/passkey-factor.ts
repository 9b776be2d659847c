import "server-only";
import type { Database, Transaction } from "@/db/client";
import { finishPasskeyAuthentication } from "./passkey-ceremony";

/** A passkey's assertion (the browser's AuthenticationResponseJSON, unparsed) used as a second factor. */
export interface PasskeyInput {
  passkey?: unknown;
}

export type PasskeyCheck = { ok: true; method: "passkey" } | { ok: false; code: "INVALID_CODE" };

/**
 * Checks a passkey assertion as the second factor of `userId` where a code would be checked:
 * the ceremony's challenge (bound to `binding`) is spent in `db`, so run it in the transaction
 * of the change it allows. Any refusal (wrong or unknown passkey, replay, no user verification,
 * an expired ceremony) is a wrong code for the caller: it spends one attempt of the code budget.
 */
export async function checkPasskey(
  db: Database | Transaction,
  input: { purpose: "second-factor" | "reset" | "confirm"; binding: string; userId: string; response: unknown },
): Promise<PasskeyCheck> {
  const verified = await finishPasskeyAuthentication(db as Database, input);
  return verified.ok && verified.userId === input.userId ? { ok: true, method: "passkey" } : { ok: false, code: "INVALID_CODE" };
}
