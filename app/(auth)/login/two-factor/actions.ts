"use server";

import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { tooManyCodesMessage } from "@/app/_components/second-factor-copy";
import { getDb } from "@/lib/db";
import { deviceCookieName, signInChallengeCookieName } from "@/lib/auth/cookie-names";
import { deviceCookie } from "@/lib/auth/device-token";
import { sessionCookie } from "@/lib/auth/sessions";
import { completeSignIn, signInChallengeCookie, type SecondStepResult } from "@/lib/auth/sign-in";
import { beginPasskeySecondStep } from "@/lib/second-factor/sign-in-step";
import type { PasskeyStepAnswer } from "@/app/_components/passkey-step";
import { requestContext } from "@/lib/client-ip";
import { safeCallbackPath } from "@/lib/safe-redirect";
import { SignInCodeSchema, SignInRecoveryCodeSchema } from "@/lib/validation/forms";
import { secondStepPath, type SecondStepMethod } from "./paths";
import { afterResponse } from "@/lib/job-definitions";

type Field = "otp" | "recoveryCode";

const WRONG_CODE: Record<SecondStepMethod, Partial<Record<Field, string[]>>> = {
  app: { otp: ["That code is not right. Enter the code your authenticator app shows now."] },
  recovery: { recoveryCode: ["That recovery code is not right, or it was already used."] },
};

/** The second step of a sign-in: an authenticator code or a recovery code for this browser's pending step. */
export async function secondStepAction(_previous: FormState<Field>, formData: FormData): Promise<FormState<Field>> {
  const method: SecondStepMethod = formData.get("method") === "recovery" ? "recovery" : "app";
  const raw = { callbackUrl: formData.get("callbackUrl") ?? undefined };
  const parsed =
    method === "recovery"
      ? SignInRecoveryCodeSchema.safeParse({ ...raw, recoveryCode: formData.get("recoveryCode") })
      : SignInCodeSchema.safeParse({ ...raw, otp: formData.get("otp") });
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<Field>(parsed.error) };
  const callbackUrl = safeCallbackPath(parsed.data.callbackUrl);

  const jar = await cookies();
  const token = jar.get(signInChallengeCookieName())?.value;
  // No pending step in this browser: the page says why and offers "Sign in again".
  if (!token) redirect(secondStepPath(method, callbackUrl));

  const result = await completeSignIn(
    await getDb(),
    {
      token,
      deviceCookie: jar.get(deviceCookieName())?.value ?? null,
      ...("otp" in parsed.data ? { otp: parsed.data.otp } : { recoveryCode: parsed.data.recoveryCode }),
      ...requestContext(await headers()),
    },
    afterResponse,
  );
  if (!result.ok) {
    switch (result.code) {
      case "INVALID_CODE":
        return { status: "error", fieldErrors: WRONG_CODE[method] };
      case "RATE_LIMITED":
        return { status: "error", formError: tooManyCodesMessage(result.retryAfterSeconds) };
      case "CHALLENGE_EXPIRED":
        // The cookie stays (it ends with the step): the page can then tell "ended" from "never started here".
        redirect(secondStepPath(method, callbackUrl));
    }
  }
  signedIn(jar, result, callbackUrl);
}

/** The session is stored: the pending step's cookie goes, the session's and the device's are set, and on to `callbackUrl`. */
function signedIn(jar: Awaited<ReturnType<typeof cookies>>, result: Extract<SecondStepResult, { ok: true }>, callbackUrl: string): never {
  // Expired at once; with `__Host-` a cookie is only replaced by one set with the same attributes.
  const spent = signInChallengeCookie("");
  jar.set(spent.name, spent.value, { ...spent.options, maxAge: 0 });
  const cookie = sessionCookie(result.session.sessionToken, result.session.expires);
  jar.set(cookie.name, cookie.value, cookie.options);
  const device = deviceCookie(result.deviceCookie);
  jar.set(device.name, device.value, device.options);
  redirect(callbackUrl);
}

const SIGN_IN_ENDED = "This sign-in has expired or already ended. Sign in again with your password.";

/** The passkey request for this browser's pending second step, bound to it. */
export async function beginPasskeySecondStepAction(): Promise<PasskeyStepAnswer> {
  const token = (await cookies()).get(signInChallengeCookieName())?.value;
  const options = token ? await beginPasskeySecondStep(await getDb(), token) : null;
  return options ? { ok: true, options } : { ok: false, message: SIGN_IN_ENDED };
}

/** The second step with a passkey instead of a code: the same budget, the same session, the same cookies. */
export async function passkeySecondStepAction(response: unknown, callbackUrl: unknown): Promise<{ ok: false; message: string }> {
  const jar = await cookies();
  const token = jar.get(signInChallengeCookieName())?.value;
  if (!token) return { ok: false, message: SIGN_IN_ENDED };
  const result = await completeSignIn(
    await getDb(),
    { token, deviceCookie: jar.get(deviceCookieName())?.value ?? null, passkey: response ?? null, ...requestContext(await headers()) },
    afterResponse,
  );
  if (!result.ok) {
    switch (result.code) {
      case "INVALID_CODE":
        return { ok: false, message: "That passkey was not accepted. Try again, or use a code." };
      case "RATE_LIMITED":
        return { ok: false, message: tooManyCodesMessage(result.retryAfterSeconds) };
      case "CHALLENGE_EXPIRED":
        return { ok: false, message: SIGN_IN_ENDED };
    }
  }
  signedIn(jar, result, safeCallbackPath(typeof callbackUrl === "string" ? callbackUrl : undefined));
}
