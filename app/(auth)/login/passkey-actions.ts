"use server";

import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import type { PasskeyStepAnswer } from "@/app/_components/passkey-step";
import { getDb } from "@/lib/db";
import { deviceCookieName, passkeyCeremonyCookieName } from "@/lib/auth/cookie-names";
import { deviceCookie } from "@/lib/auth/device-token";
import { finishPasskeySignIn, passkeyCeremonyCookie, startPasskeySignIn } from "@/lib/auth/passkey-sign-in";
import { sessionCookie } from "@/lib/auth/sessions";
import { requestContext } from "@/lib/client-ip";
import { afterResponse } from "@/lib/job-definitions";
import { describeWait } from "@/lib/rate-limit";
import { safeCallbackPath } from "@/lib/safe-redirect";

const tooMany = (seconds: number): string => `Too many sign-in attempts. Try again in ${describeWait(seconds)}.`;

/** Begins a passkey sign-in in this browser: the options for the browser, the ceremony bound to a fresh httpOnly cookie. */
export async function beginPasskeySignInAction(): Promise<PasskeyStepAnswer> {
  const started = await startPasskeySignIn(await getDb(), requestContext(await headers()));
  if (!started.ok) return { ok: false, message: tooMany(started.retryAfterSeconds) };
  const cookie = passkeyCeremonyCookie(started.ceremony);
  (await cookies()).set(cookie.name, cookie.value, cookie.options);
  return { ok: true, options: started.options };
}

/** Finishes a passkey sign-in: on success the session and device cookies are set and the browser goes on to `callbackUrl`. */
export async function finishPasskeySignInAction(response: unknown, callbackUrl: unknown): Promise<{ ok: false; message: string }> {
  const jar = await cookies();
  const result = await finishPasskeySignIn(
    await getDb(),
    {
      ceremony: jar.get(passkeyCeremonyCookieName())?.value ?? null,
      response,
      deviceCookie: jar.get(deviceCookieName())?.value ?? null,
      ...requestContext(await headers()),
    },
    afterResponse,
  );
  // Spent either way: a ceremony is tried once.
  const spent = passkeyCeremonyCookie("");
  jar.set(spent.name, spent.value, { ...spent.options, maxAge: 0 });
  if (!result.ok) {
    // One message for an unknown passkey, a bad signature and a passkey without user verification.
    if (result.code === "RATE_LIMITED") return { ok: false, message: tooMany(result.retryAfterSeconds) };
    return { ok: false, message: "That passkey did not sign you in. Try again, or sign in with your email and password." };
  }
  const session = sessionCookie(result.session.sessionToken, result.session.expires);
  jar.set(session.name, session.value, session.options);
  const device = deviceCookie(result.deviceCookie);
  jar.set(device.name, device.value, device.options);
  redirect(safeCallbackPath(typeof callbackUrl === "string" ? callbackUrl : undefined));
}
