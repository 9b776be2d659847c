import "server-only";
import { hash, parseOptions, verify } from "@node-rs/argon2";
import { withArgon2Slot } from "./argon2-slots";
import { env } from "./env";
import { isCommonPassword } from "./validation/common-passwords";
import { COMMON_PASSWORD_MESSAGE, NewPasswordSchema } from "./validation/password-policy";

// `Algorithm` is a const enum, which isolated modules cannot inline: 2 is Argon2id.
const ARGON2ID = 2;

/** The argon2id parameters in force, from the environment (defaults: OWASP minimum). */
export function passwordHashParameters(): { memoryCost: number; timeCost: number; parallelism: number } {
  const config = env();
  return {
    memoryCost: config.ARGON2_MEMORY_KIB,
    timeCost: config.ARGON2_ITERATIONS,
    parallelism: config.ARGON2_PARALLELISM,
  };
}

export { argon2Load, withArgon2Slot } from "./argon2-slots";

const rawHash = (password: string) => hash(password, { ...passwordHashParameters(), algorithm: ARGON2ID });

async function rawVerify(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** argon2id hash (PHC string) of a password with the current parameters. */
export function hashPassword(password: string): Promise<string> {
  return withArgon2Slot(() => rawHash(password));
}

/** True when `password` matches `passwordHash`; false for a malformed hash, never a throw. */
export function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  return withArgon2Slot(() => rawVerify(passwordHash, password));
}

/**
 * The hash of a new password and whether it equals the current one, computed side by side in
 * one slot: a reset waits for one argon2 run, not two in a row.
 */
export async function hashNewPassword(currentHash: string | null, password: string): Promise<{ hash: string; sameAsCurrent: boolean }> {
  return withArgon2Slot(async () => {
    const [newHash, sameAsCurrent] = await Promise.all([rawHash(password), currentHash ? rawVerify(currentHash, password) : false]);
    return { hash: newHash, sameAsCurrent };
  });
}

/** True when `passwordHash` was made with weaker parameters than those now in force. */
export function needsRehash(passwordHash: string): boolean {
  try {
    const stored = parseOptions(passwordHash);
    const wanted = passwordHashParameters();
    return (
      stored.algorithm !== ARGON2ID ||
      stored.memoryCost < wanted.memoryCost ||
      stored.timeCost < wanted.timeCost ||
      stored.parallelism < wanted.parallelism
    );
  } catch {
    return true;
  }
}

// Verified when the email is unknown so that a sign-in for an unknown address costs the same
// argon2 work as a wrong password. Made once per process with the parameters in force.
let dummyHash: Promise<string> | undefined;

/** Runs one verify against a fixed dummy hash and returns false. */
export async function verifyDummyPassword(password: string): Promise<false> {
  dummyHash ??= hashPassword("rekey-dummy-password-for-timing");
  await verifyPassword(await dummyHash, password);
  return false;
}

/**
 * Every broken rule of the password policy (the shared rules plus the common-passwords list),
 * as messages; empty when the password is acceptable.
 */
export async function passwordPolicyErrors(password: string): Promise<string[]> {
  const parsed = NewPasswordSchema.safeParse(password);
  const errors = parsed.success ? [] : parsed.error.issues.map((i) => i.message);
  if (await isCommonPassword(password)) errors.push(COMMON_PASSWORD_MESSAGE);
  return errors;
}
