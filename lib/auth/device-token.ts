import "server-only";
import { createHmac, randomBytes } from "node:crypto";
import { env } from "../env";
import { authSecrets, derivedKey } from "../jobs/seal";
import { isHttpsOrigin } from "../security-headers";
import { safeEqual } from "../tokens";
import { deviceCookieName } from "./cookie-names";

// OWASP's device cookies (Slow Down Online Guessing Attacks with Device Cookies): a browser that
// has signed in to an account carries a token saying so, signed with a key derived from
// AUTH_SECRET. Past the per-address limit, only such a browser may still try that address, in
// a small bucket of its own (its nonce), so a guesser spending the address's budget from many
// IPs never locks the owner out. A token names the account by a keyed tag of its address (no
// address in the cookie, and recognising one needs no query, so an address without an account
// is answered exactly as one with). The nonce tells devices apart; nothing is stored.
const VERSION = "d1";
const TOKEN_SHAPE = /^d1\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/** A device token lasts a year from the last sign-in that set it. */
export const DEVICE_TOKEN_MAX_AGE_SECONDS = 365 * 24 * 60 * 60;

/** Accounts one browser remembers; the oldest is forgotten first. Keeps the cookie under 1 KB. */
export const MAX_DEVICE_TOKENS = 10;

const key = (secret: string, purpose: "device-account" | "device-token"): Buffer => derivedKey(secret, purpose);

const accountTag = (secret: string, email: string): string =>
  createHmac("sha256", key(secret, "device-account")).update(email.trim().toLowerCase()).digest().subarray(0, 16).toString("base64url");

const signature = (secret: string, body: string): string =>
  createHmac("sha256", key(secret, "device-token")).update(body).digest("base64url");

function sign(secret: string, email: string, nonce: string): string {
  const body = `${VERSION}.${accountTag(secret, email)}.${nonce}`;
  return `${body}.${signature(secret, body)}`;
}

/** The well-formed tokens in a device cookie's value, at most MAX_DEVICE_TOKENS; anything else is dropped. */
export function parseDeviceCookie(value: string | null | undefined): string[] {
  if (!value) return [];
  return value
    .slice(0, 4096)
    .split("~")
    .filter((t) => TOKEN_SHAPE.test(t))
    .slice(0, MAX_DEVICE_TOKENS);
}

/** A recognised device: its nonce, and whether its token was signed under AUTH_SECRET_PREVIOUS. */
export interface RecognisedDevice {
  nonce: string;
  stale: boolean;
}

/**
 * The device `cookieValue` proves has signed in to the account of `email`, or null: a token
 * whose signature is not ours (forged, altered, or for another account) counts for nothing.
 */
export function recogniseDevice(cookieValue: string | null | undefined, email: string): RecognisedDevice | null {
  for (const token of parseDeviceCookie(cookieValue)) {
    const [, tag, nonce] = TOKEN_SHAPE.exec(token)!;
    for (const { secret, stale } of authSecrets()) {
      if (tag !== accountTag(secret, email)) continue;
      if (safeEqual(token, sign(secret, email, nonce!))) return { nonce: nonce!, stale };
    }
  }
  return null;
}

/**
 * The device cookie's new value after a sign-in to `email`: this account's token first (the
 * same nonce when the device was recognised, signed again under the current secret), the
 * browser's other accounts after it, the oldest dropped beyond MAX_DEVICE_TOKENS.
 */
export function deviceCookieAfterSignIn(cookieValue: string | null | undefined, email: string, device: RecognisedDevice | null): string {
  const mine = sign(env().AUTH_SECRET, email, device?.nonce ?? randomBytes(16).toString("base64url"));
  const tags = new Set(authSecrets().map(({ secret }) => accountTag(secret, email)));
  const others = parseDeviceCookie(cookieValue).filter((t) => !tags.has(TOKEN_SHAPE.exec(t)![1]!));
  return [mine, ...others].slice(0, MAX_DEVICE_TOKENS).join("~");
}

/** The device cookie to set: httpOnly, SameSite=Lax, Secure on https, for a year. */
export function deviceCookie(value: string) {
  return {
    name: deviceCookieName(),
    value,
    options: {
      httpOnly: true,
      sameSite: "lax" as const,
      path: "/",
      secure: isHttpsOrigin(env().APP_URL),
      maxAge: DEVICE_TOKEN_MAX_AGE_SECONDS,
    },
  };
}

/** The value of cookie `name` in a Cookie header, or null; never throws, whatever the header holds. */
export function cookieFromHeader(header: string | null | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const at = part.indexOf("=");
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return null;
}
