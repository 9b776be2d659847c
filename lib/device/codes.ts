import "server-only";
import { randomInt } from "node:crypto";
import { generateToken, hashToken, type GeneratedToken } from "../tokens";
import { USER_CODE_ALPHABET, USER_CODE_LENGTH } from "../validation/device-code";

export { USER_CODE_ALPHABET, formatUserCode, normaliseUserCode } from "../validation/device-code";

/** A fresh user code, normalised (8 letters, no dash): what is hashed and stored. */
export function generateUserCode(): string {
  let code = "";
  // randomInt is uniform (rejection sampling): no letter is likelier than another.
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

/** SHA-256 of a normalised user code (what device_authorizations.user_code_hash holds). */
export function hashUserCode(normalised: string): string {
  return hashToken(normalised);
}

/** The device code the tool polls with: 256 random bits; only its SHA-256 is stored. */
export function generateDeviceCode(): GeneratedToken {
  return generateToken();
}
