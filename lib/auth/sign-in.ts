import "server-only";
import type { Database } from "@/db/client";
import type { RequestContext } from "../client-ip";
import { env } from "../env";
import type { Schedule } from "../jobs/definition";
import { isHttpsOrigin } from "../security-headers";
import type { CodeRefusal, SecondFactorInput } from "../second-factor/check";
import type { PasskeyInput } from "../second-factor/passkey-factor";
import type { SecondFactors } from "../second-factor/second-factors";
import { passSignInChallenge, SIGN_IN_CHALLENGE_TTL_SECONDS, startSignInChallenge } from "../second-factor/sign-in-step";
import { signInChallengeCookieName } from "./cookie-names";
import { deviceCookieAfterSignIn, type RecognisedDevice } from "./device-token";
import { enqueueNewDeviceSignIn } from "./owner-alerts";
import { issueSignInSession, type SessionGrant } from "./sessions";
import { attemptSignIn, type SignInResult } from "./sign-in-throttle";

// A sign-in is one or two steps. The password step (authorize() in lib/auth/config.ts) ends in
// a session only for an account without a second factor; for one with it, it ends in a pending
// challenge whose raw token only this browser's cookie holds, and no session exists until
// completeSignIn() passes it with a code. Both steps store the session through
// issueSignInSession(), with the credentials version read at the password check, so a reset
// between the two steps still wins.

export type PasswordStepResult =
  | SignInResult
  /** The password was right; the account needs its second factor. No session exists. */
  | { ok: false; code: "SECOND_FACTOR_REQUIRED"; challenge: { token: string; expiresAt: Date }; secondFactors: SecondFactors };

/**
 * The password step of a sign-in, within the sign-in limits. For an account with a second
 * factor (two-factor or a passkey) it starts the pending second step instead of earning a session.
 */
export async function checkSignInPassword(
  db: Database,
  input: { email: string; password: string; device?: RecognisedDevice | null } & RequestContext,
  schedule?: Schedule,
): Promise<PasswordStepResult> {
  const result = await attemptSignIn(db, { ...input, device: input.device?.nonce ?? null }, schedule);
  if (!result.ok || !result.user.twoFactor) return result;
  const challenge = await startSignInChallenge(db, {
    userId: result.user.id,
    credentialsVersion: result.user.credentialsVersion,
    ip: input.ip,
    userAgent: input.userAgent,
  });
  return { ok: false, code: "SECOND_FACTOR_REQUIRED", challenge, secondFactors: result.user.secondFactors };
}

/**
 * Stores the session a sign-in earned. From a device with no token for this account the
 * owner's "New sign-in" email is written in the same transaction as the session.
 */
export async function issueDeviceSession(
  db: Database,
  grant: SessionGrant,
  recognised: boolean,
  schedule: Schedule,
): Promise<{ sessionToken: string; expires: Date } | null> {
  if (recognised) return issueSignInSession(db, grant);
  return issueSignInSession(db, grant, (tx) => enqueueNewDeviceSignIn(db, tx, schedule, grant));
}

export type SecondStepResult =
  | {
      ok: true;
      session: { sessionToken: string; expires: Date };
      method: "totp" | "recovery_code" | "passkey";
      /** The device cookie's new value: this browser has now signed in to the account. */
      deviceCookie: string;
    }
  | CodeRefusal
  /** No pending step for this token: never started here, expired, already used, or the password changed since. */
  | { ok: false; code: "CHALLENGE_EXPIRED" };

/**
 * The second step: passes the challenge with an authenticator or recovery code or a passkey (counted
 * against the account's code budget before it is checked) and stores the session, marked as
 * having passed a second factor.
 */
export async function completeSignIn(
  db: Database,
  input: { token: string; deviceCookie?: string | null } & SecondFactorInput & PasskeyInput & RequestContext,
  schedule: Schedule,
): Promise<SecondStepResult> {
  const passed = await passSignInChallenge(db, input, schedule);
  if (!passed.ok) return passed;
  // Null when the password changed (reset, change, "This wasn't me") after it was checked:
  // the pending sign-in belonged to the old credentials and ends like an expired one.
  const session = await issueDeviceSession(db, passed.grant, passed.device !== null, schedule);
  if (!session) return { ok: false, code: "CHALLENGE_EXPIRED" };
  return {
    ok: true,
    session,
    method: passed.method,
    deviceCookie: deviceCookieAfterSignIn(input.deviceCookie, passed.email, passed.device),
  };
}

/** The cookie that carries a pending second step's raw token: this browser only, for as long as the step lasts. */
export function signInChallengeCookie(token: string) {
  return {
    name: signInChallengeCookieName(),
    value: token,
    options: {
      httpOnly: true,
      sameSite: "lax" as const,
      path: "/",
      secure: isHttpsOrigin(env().APP_URL),
      maxAge: SIGN_IN_CHALLENGE_TTL_SECONDS,
    },
  };
}
