import "server-only";
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { env } from "./env";

const TOKEN_BYTES = 32;
// 32 bytes in base64url without padding: exactly 43 characters of [A-Za-z0-9_-].
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface GeneratedToken {
  /** Goes into the link and nowhere else: never stored, never logged. */
  token: string;
  /** What the database keeps. */
  hash: string;
}

/** A fresh 256-bit token from the CSPRNG and the SHA-256 the database stores. */
export function generateToken(): GeneratedToken {
  const token = randomBytes(TOKEN_BYTES).toString("base64url");
  return { token, hash: hashToken(token) };
}

/** SHA-256 (hex) of a token. A fast hash is right here: the input has 256 bits of entropy. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** True when `token` could be one of ours; anything else is rejected without a query. */
export function isWellFormedToken(token: string): boolean {
  return TOKEN_SHAPE.test(token);
}

/** Constant-time string comparison (equal length or not). */
export function safeEqual(a: string, b: string): boolean {
  const left = createHash("sha256").update(a).digest();
  const right = createHash("sha256").update(b).digest();
  return timingSafeEqual(left, right);
}

/**
 * Keyed fingerprint of an email address for audit rows and rate-limit keys: events about one
 * address can be correlated, but the table does not list addresses.
 */
export function emailFingerprint(email: string): string {
  const key = createHash("sha256").update(`rekey:email-fingerprint:${env().AUTH_SECRET}`).digest();
  return createHmac("sha256", key).update(email.trim().toLowerCase()).digest("hex");
}
