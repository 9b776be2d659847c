import "server-only";
import type { Database } from "@/db/client";
import { clientKey, type RequestContext } from "../client-ip";
import type { Schedule } from "../jobs/definition";
import { consumeRateLimit, type RateLimit } from "../rate-limit";
import type { CodeRefusal, SecondFactorInput } from "../second-factor/check";
import type { SecondFactors } from "../second-factor/second-factors";
import { passSignInChallenge } from "../second-factor/sign-in-step";
import { issueBearerSession, type BearerGrant, type IssuedBearer } from "./bearer";
import { deviceCookieAfterSignIn, recogniseDevice } from "./device-token";
import { enqueueNewDeviceSignIn } from "./owner-alerts";
import { checkSignInPassword } from "./sign-in";

// Sign-in over the JSON API for apps and command-line tools: the browser's two steps, limits and
// owner emails, ending in a bearer session instead of a cookie. An app keeps issue 21's device
// token as `device_token`: the answer carries it, the next sign-in sends it back, and then that
// app counts in its own small bucket past the per-address limit and is no new device.

/**
 * An app that keeps no device token is a new device at every sign-in; its owner hears of it at
 * most once a day per account and client IP, so a script signing in every minute is not an
 * email a minute, while a sign-in from anywhere else is still reported.
 */
export const APP_NEW_DEVICE_NOTICE_LIMIT: RateLimit = { name: "app-new-device-notice", max: 1, windowSeconds: 24 * 60 * 60 };

export type AppSignInSuccess = {
  ok: true;
  issued: IssuedBearer;
  user: { id: string; email: string };
  /** The device token to keep and send back at the next sign-in (opaque to the app). */
  deviceToken: string;
};

export type AppSignInResult =
  | AppSignInSuccess
  | { ok: false; code: "INVALID_CREDENTIALS" }
  | { ok: false; code: "PASSWORD_RESET_FORCED" }
  | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number }
  /** The password was right; the account needs its second factor. No session exists. */
  | { ok: false; code: "SECOND_FACTOR_REQUIRED"; challenge: { token: string; expiresAt: Date }; secondFactors: SecondFactors };

interface AppClient extends RequestContext {
  clientName: string | null;
  /** The device token an earlier sign-in answered, if the app kept it. */
  deviceToken?: string | null;
}

/** The password step over the API, within the browser's sign-in limits. */
export async function signInApp(
  db: Database,
  input: { email: string; password: string } & AppClient,
  schedule: Schedule,
): Promise<AppSignInResult> {
  const device = recogniseDevice(input.deviceToken, input.email);
  const result = await checkSignInPassword(
    db,
    { email: input.email, password: input.password, device, ip: input.ip, userAgent: input.userAgent },
    schedule,
  );
  if (!result.ok) return result;
  // checkSignInPassword answers SECOND_FACTOR_REQUIRED for such accounts; this is belt and braces.
  if (result.user.twoFactor) return { ok: false, code: "INVALID_CREDENTIALS" };
  const grant = { userId: result.user.id, credentialsVersion: result.user.credentialsVersion, ...appGrant(input) };
  const issued = await issueAppSession(db, grant, device !== null, schedule);
  // The password changed while it was checked: it no longer signs in (a wrong password's answer).
  if (!issued) return { ok: false, code: "INVALID_CREDENTIALS" };
  return {
    ok: true,
    issued,
    user: { id: result.user.id, email: result.user.email },
    deviceToken: deviceCookieAfterSignIn(input.deviceToken, input.email, device),
  };
}

export type AppSecondStepResult = AppSignInSuccess | CodeRefusal | { ok: false; code: "CHALLENGE_EXPIRED" };

/** The second step over the API: the challenge the password step answered, with a code. */
export async function completeAppSignIn(
  db: Database,
  input: { challenge: string } & SecondFactorInput & AppClient,
  schedule: Schedule,
): Promise<AppSecondStepResult> {
  const passed = await passSignInChallenge(
    db,
    {
      token: input.challenge,
      deviceCookie: input.deviceToken,
      otp: input.otp,
      recoveryCode: input.recoveryCode,
      ip: input.ip,
      userAgent: input.userAgent,
    },
    schedule,
  );
  if (!passed.ok) return passed;
  const grant = { ...passed.grant, ...appGrant(input), secondFactor: true };
  const issued = await issueAppSession(db, grant, passed.device !== null, schedule);
  if (!issued) return { ok: false, code: "CHALLENGE_EXPIRED" };
  return {
    ok: true,
    issued,
    user: { id: passed.grant.userId, email: passed.email },
    deviceToken: deviceCookieAfterSignIn(input.deviceToken, passed.email, passed.device),
  };
}

const appGrant = (input: AppClient) => ({ kind: "app" as const, clientName: input.clientName, ip: input.ip, userAgent: input.userAgent });

/**
 * Stores the app's session; from an app with no device token for the account the owner's "New
 * sign-in" email is written in the same transaction, within APP_NEW_DEVICE_NOTICE_LIMIT.
 */
async function issueAppSession(db: Database, grant: BearerGrant, recognised: boolean, schedule: Schedule): Promise<IssuedBearer | null> {
  if (recognised) return issueBearerSession(db, grant);
  // Counted before the transaction (PGlite serves one connection: no query outside it may wait
  // inside it). A sign-in that then loses to a reset spends a notice it did not need: harmless.
  const notice = await consumeRateLimit(db, APP_NEW_DEVICE_NOTICE_LIMIT, `${grant.userId}:${clientKey(grant.ip)}`);
  if (!notice.allowed) return issueBearerSession(db, grant);
  return issueBearerSession(db, grant, (tx) => enqueueNewDeviceSignIn(db, tx, schedule, grant));
}
