import "server-only";
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { env } from "../env";

// Secrets the app must read back later are kept only sealed: AES-256-GCM under a key derived
// from AUTH_SECRET (HKDF, one key per purpose), so a database dump alone reveals nothing. A job
// that sends a link keeps the link's token this way between attempts (one idempotency key, one
// email), and the runner erases the payload when the job ends; two-factor keys live this way.
const VERSION = "v1";

/** What a sealed value is for: each purpose has its own key. */
export type SealPurpose = "job-secrets" | "two-factor";

// Derived once per secret and purpose, not once per seal (tests switch AUTH_SECRET between calls).
const derived = new Map<string, Buffer>();

/** A 32-byte key for one purpose, derived from `secret` by HKDF (every key Rekey derives from AUTH_SECRET). */
export function derivedKey(secret: string, purpose: string): Buffer {
  const id = `${purpose}:${secret}`;
  let found = derived.get(id);
  if (!found) {
    if (derived.size > 16) derived.clear();
    found = Buffer.from(hkdfSync("sha256", secret, "rekey", `rekey:${purpose}:v1`, 32));
    derived.set(id, found);
  }
  return found;
}

/** The secrets a value signed or sealed by Rekey may be under: AUTH_SECRET, then AUTH_SECRET_PREVIOUS (`stale`) while rotating. */
export function authSecrets(): { secret: string; stale: boolean }[] {
  const config = env();
  const list = [{ secret: config.AUTH_SECRET, stale: false }];
  if (config.AUTH_SECRET_PREVIOUS) list.push({ secret: config.AUTH_SECRET_PREVIOUS, stale: true });
  return list;
}

/** Encrypts `plain` under the current AUTH_SECRET: "v1.<iv>.<ciphertext>.<tag>", base64url. */
export function seal(plain: string, purpose: SealPurpose = "job-secrets"): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", derivedKey(env().AUTH_SECRET, purpose), iv);
  const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return [VERSION, iv, body, cipher.getAuthTag()].map((p) => (typeof p === "string" ? p : p.toString("base64url"))).join(".");
}

function open(sealed: string, secret: string, purpose: SealPurpose): string {
  const [version, iv, body, tag] = sealed.split(".");
  if (version !== VERSION || !iv || body === undefined || !tag) throw new Error("not a sealed value");
  const decipher = createDecipheriv("aes-256-gcm", derivedKey(secret, purpose), Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
}

/**
 * Decrypts what `seal` produced, under AUTH_SECRET or else AUTH_SECRET_PREVIOUS (`stale`: the
 * caller should seal it again); throws when it was altered or sealed under another secret.
 */
export function unsealWithAge(sealed: string, purpose: SealPurpose = "job-secrets"): { plain: string; stale: boolean } {
  const config = env();
  try {
    return { plain: open(sealed, config.AUTH_SECRET, purpose), stale: false };
  } catch (error) {
    if (!config.AUTH_SECRET_PREVIOUS) throw error;
    return { plain: open(sealed, config.AUTH_SECRET_PREVIOUS, purpose), stale: true };
  }
}

/** Decrypts what `seal` produced; throws when it was altered or sealed under another secret. */
export function unseal(sealed: string, purpose: SealPurpose = "job-secrets"): string {
  return unsealWithAge(sealed, purpose).plain;
}
