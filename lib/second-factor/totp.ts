import "server-only";
import * as OTPAuth from "otpauth";
import QRCode from "qrcode";

// TOTP as every authenticator app expects it (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps),
// computed by otpauth. One step either side is accepted for clock drift, and only a step later
// than the last one accepted, so a code that worked can never be replayed.
const TOTP_SETTINGS = { algorithm: "SHA1", digits: 6, period: 30 } as const;
const ISSUER = "Rekey";
/** Clock drift tolerated, in steps either side. */
const TOTP_WINDOW = 1;

function totp(key: string, email = ""): OTPAuth.TOTP {
  return new OTPAuth.TOTP({ ...TOTP_SETTINGS, issuer: ISSUER, label: email, secret: OTPAuth.Secret.fromBase32(key) });
}

/** A fresh 160-bit TOTP key (RFC 4226's recommended length), in base32. */
export function newTotpKey(): string {
  return new OTPAuth.Secret({ size: 20 }).base32;
}

/** The key grouped in fours for typing into an app by hand ("Setup key"). */
export function formatSetupKey(key: string): string {
  return key.replace(/(.{4})/g, "$1 ").trim();
}

/** The otpauth:// URI an authenticator app reads from the QR code. */
export function totpUri(key: string, email: string): string {
  return totp(key, email).toString();
}

/** The code for `key` at `timestampMs` (tests; and nothing else in the app). */
export function totpCode(key: string, timestampMs: number = Date.now()): string {
  return totp(key).generate({ timestamp: timestampMs });
}

/** The time step `code` belongs to, within the drift window around `timestampMs`; null when none. */
export function matchingTotpStep(key: string, code: string, timestampMs: number = Date.now()): number | null {
  const generator = totp(key);
  const delta = generator.validate({ token: code, timestamp: timestampMs, window: TOTP_WINDOW });
  if (delta === null) return null;
  return generator.counter({ timestamp: timestampMs }) + delta;
}

/** The otpauth URI as an SVG QR code, drawn on the server (no script, nothing fetched). */
export function qrCodeSvg(uri: string): Promise<string> {
  return QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
}
