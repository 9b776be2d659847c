import "server-only";
import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import type { PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/server";
import type { Database } from "@/db/client";
import { users } from "@/db/schema";
import { audit, auditThrottled } from "../audit";
import { clientKey, type RequestContext } from "../client-ip";
import { env } from "../env";
import type { Schedule } from "../jobs/definition";
import { consumeRateLimit, peekRateLimit, refundRateLimit } from "../rate-limit";
import { isHttpsOrigin } from "../security-headers";
import { beginPasskeyAuthentication, finishPasskeyAuthentication } from "../second-factor/passkey-ceremony";
import { passkeyCeremonyCookieName } from "./cookie-names";
import { deviceCookieAfterSignIn, recogniseDevice } from "./device-token";
import { issueDeviceSession } from "./sign-in";
import { ipLimit } from "./sign-in-throttle";

// Signing in with a passkey alone (discoverable credentials: the passkey says whose it is). The
// authenticator's user verification (a PIN, a fingerprint) is the second factor and the passkey
// the first, so the session counts as having passed a second factor, though no password was
// checked ("Confirm it's you" still asks for the password). Nothing here can be guessed per
// address, so the per-IP sign-in limit is the one that applies: every ceremony counts against it
// before the signature is checked, a success gives its count back.

/** How long a passkey sign-in's ceremony (and its cookie) lasts. */
export const PASSKEY_CEREMONY_TTL_SECONDS = 5 * 60;

export type PasskeySignInStart =
  | { ok: true; options: PublicKeyCredentialRequestOptionsJSON; ceremony: string }
  | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

/** Begins a passkey sign-in for this browser: the options for the browser and the raw ceremony token for its cookie. */
export async function startPasskeySignIn(db: Database, context: RequestContext): Promise<PasskeySignInStart> {
  // Looked at, not counted: asking for a challenge proves nothing and costs the server no row
  // (lib/second-factor/webauthn-challenges.ts); answering it is counted.
  const budget = await peekRateLimit(db, ipLimit(), clientKey(context.ip));
  if (!budget.allowed) return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: budget.retryAfterSeconds };
  const ceremony = randomBytes(32).toString("base64url");
  const options = await beginPasskeyAuthentication(db, { purpose: "sign-in", userId: null, binding: ceremony });
  return { ok: true, options, ceremony };
}

export type PasskeySignInResult =
  | { ok: true; session: { sessionToken: string; expires: Date }; deviceCookie: string }
  /** One answer for an unknown passkey, a bad or replayed signature, missing user verification, an expired ceremony. */
  | { ok: false; code: "PASSKEY_REFUSED" }
  | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

/**
 * Finishes a passkey sign-in: counts it against the per-IP sign-in limit, verifies the assertion
 * against the challenge bound to this browser's ceremony cookie (single use, user verification
 * required, counter checked), and stores a session marked as having passed a second factor for
 * the credentials version the ceremony read, so a reset in between still wins. An unconfirmed
 * account or one pending deletion is refused exactly like an unknown passkey.
 */
export async function finishPasskeySignIn(
  db: Database,
  input: { ceremony: string | null; response: unknown; deviceCookie?: string | null } & RequestContext,
  schedule: Schedule,
): Promise<PasskeySignInResult> {
  const context = { ip: input.ip, userAgent: input.userAgent };
  const counted = await consumeRateLimit(db, ipLimit(), clientKey(input.ip));
  if (!counted.allowed) {
    await auditThrottled(
      db,
      {
        event: "user.sign_in_throttled",
        ...context,
        details: { limit: "ip", method: "passkey", retryAfterSeconds: counted.retryAfterSeconds },
      },
      counted.refusedInWindow,
    );
    return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: counted.retryAfterSeconds };
  }
  const refused = async (userId?: string, reason = "passkey_refused"): Promise<PasskeySignInResult> => {
    await audit(db, { event: "user.sign_in_failed", ...context, ...(userId ? { userId } : {}), details: { method: "passkey", reason } });
    return { ok: false, code: "PASSKEY_REFUSED" };
  };
  if (!input.ceremony) return refused();
  const verified = await finishPasskeyAuthentication(db, {
    purpose: "sign-in",
    binding: input.ceremony,
    userId: null,
    response: input.response,
  });
  if (!verified.ok) return refused(undefined, verified.code === "CHALLENGE_EXPIRED" ? "ceremony_expired" : "passkey_refused");

  const [user] = await db
    .select({ email: users.email, emailVerified: users.emailVerified, deletionRequestedAt: users.deletionRequestedAt })
    .from(users)
    .where(eq(users.id, verified.userId));
  // As a password sign-in: an account pending deletion or not yet confirmed is not signed into.
  if (!user || user.deletionRequestedAt || !user.emailVerified) return refused(verified.userId, "account_unavailable");

  await refundRateLimit(db, ipLimit(), clientKey(input.ip));
  const device = recogniseDevice(input.deviceCookie, user.email);
  const grant = {
    userId: verified.userId,
    credentialsVersion: verified.credentialsVersion,
    ...context,
    secondFactor: true,
    method: "passkey" as const,
  };
  const session = await issueDeviceSession(db, grant, device !== null, schedule);
  // The credentials changed (a reset, "This wasn't me") since the ceremony read them: audited as
  // a failed sign-in by issueDeviceSession, and answered like any refusal.
  if (!session) return { ok: false, code: "PASSKEY_REFUSED" };
  return { ok: true, session, deviceCookie: deviceCookieAfterSignIn(input.deviceCookie, user.email, device) };
}

/** The cookie that binds a passkey sign-in's ceremony to this browser, for as long as the ceremony lasts. */
export function passkeyCeremonyCookie(ceremony: string) {
  return {
    name: passkeyCeremonyCookieName(),
    value: ceremony,
    options: {
      httpOnly: true,
      sameSite: "strict" as const,
      path: "/",
      secure: isHttpsOrigin(env().APP_URL),
      maxAge: PASSKEY_CEREMONY_TTL_SECONDS,
    },
  };
}
