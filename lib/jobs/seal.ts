import "server-only";
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { env } from "../env";

// A job that sends a link keeps the link's token between attempts (one idempotency key, one
// email), but never in the clear: AES-256-GCM under a key derived from AUTH_SECRET, so a
// database dump alone reveals nothing. The runner erases the payload when the job ends.
const VERSION = "v1";

// Derived once per secret, not once per seal (tests switch AUTH_SECRET between calls).
let derived: { secret: string; key: Buffer } | undefined;

function key(): Buffer {
  const secret = env().AUTH_SECRET;
  if (derived?.secret !== secret) derived = { secret, key: Buffer.from(hkdfSync("sha256", secret, "rekey", "rekey:job-secrets:v1", 32)) };
  return derived.key;
}

/** Encrypts `plain` for storage in a job row: "v1.<iv>.<ciphertext>.<tag>", base64url. */
export function seal(plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key(), iv);
  const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return [VERSION, iv, body, cipher.getAuthTag()].map((p) => (typeof p === "string" ? p : p.toString("base64url"))).join(".");
}

/** Decrypts what `seal` produced; throws when it was altered or sealed under another secret. */
export function unseal(sealed: string): string {
  const [version, iv, body, tag] = sealed.split(".");
  if (version !== VERSION || !iv || body === undefined || !tag) throw new Error("not a sealed value");
  const decipher = createDecipheriv("aes-256-gcm", key(), Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
}
