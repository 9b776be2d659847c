"use server";

import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { getDb } from "@/lib/db";
import { deviceCookieName, passkeyCeremonyCookieName } from "@/lib/auth/cookie-names";
import { deviceCookie } from "@/lib/auth/device-token";
import { finishPasskeySignIn, passkeyCeremonyCookie } from "@/lib/auth/passkey-sign-in";
import { sessionCookie } from "@/lib/auth/sessions";
import { requestContext } from "@/lib/client-ip";
import { afterResponse } from "@/lib/job-definitions";
import { safeCallbackPath } from "@/lib/safe-redirect";
import { tooManySignIns } from "./passkey-messages";

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
    if (result.code === "RATE_LIMITED") return { ok: false, message: tooManySignIns(result.retryAfterSeconds) };
    return { ok: false, message: "That passkey did not sign you in. Try again, or sign in with your email and password." };
  }
  const session = sessionCookie(result.session.sessionToken, result.session.expires);
  jar.set(session.name, session.value, session.options);
  const device = deviceCookie(result.deviceCookie);
  jar.set(device.name, device.value, device.options);
  redirect(safeCallbackPath(typeof callbackUrl === "string" ? callbackUrl : undefined));
}
