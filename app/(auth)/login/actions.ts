"use server";

import { AuthError } from "next-auth";
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { noteDatabaseError } from "@/lib/availability";
import { getDb } from "@/lib/db";
import { signIn } from "@/lib/auth/config";
import { deviceCookieName } from "@/lib/auth/cookie-names";
import { recogniseDevice } from "@/lib/auth/device-token";
import { signInChallengeCookie } from "@/lib/auth/sign-in";
import { signInThrottledMessage } from "@/lib/auth/sign-in-throttle";
import { isSignInPasswordResetForced, isSignInRateLimited, secondFactorChallengeOf } from "@/lib/auth/sign-in-throttle-error";
import { clientIp } from "@/lib/client-ip";
import { safeCallbackPath } from "@/lib/safe-redirect";
import { LoginSchema } from "@/lib/validation/forms";

type Field = "email" | "password";

export async function loginAction(_previous: FormState<Field>, formData: FormData): Promise<FormState<Field>> {
  const raw = { email: formData.get("email"), password: formData.get("password"), callbackUrl: formData.get("callbackUrl") ?? undefined };
  const values = { email: typeof raw.email === "string" ? raw.email : "" };
  const parsed = LoginSchema.safeParse(raw);
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<Field>(parsed.error), values };
  const callbackUrl = safeCallbackPath(parsed.data.callbackUrl);

  try {
    await signIn("credentials", { email: parsed.data.email, password: parsed.data.password, redirect: false });
  } catch (error) {
    // The password was right and the account has a second factor: the pending step belongs to
    // this browser alone (its cookie), and the session waits for the code.
    const challengeToken = secondFactorChallengeOf(error);
    if (challengeToken) {
      const cookie = signInChallengeCookie(challengeToken);
      (await cookies()).set(cookie.name, cookie.value, cookie.options);
      redirect(`/login/two-factor?${new URLSearchParams({ callbackUrl })}`);
    }
    // A database outage is not a wrong password: say so, and that it will pass.
    if (noteDatabaseError(error)) {
      return { status: "error", formError: "We could not sign you in right now. Please try again in a moment.", values };
    }
    if (isSignInRateLimited(error)) {
      const device = recogniseDevice((await cookies()).get(deviceCookieName())?.value, parsed.data.email);
      const formError = await signInThrottledMessage(await getDb(), {
        email: parsed.data.email,
        ip: clientIp(await headers()),
        device: device?.nonce ?? null,
      });
      return { status: "error", formError, values };
    }
    if (isSignInPasswordResetForced(error)) {
      return {
        status: "error",
        formError:
          "This password no longer works: an administrator required a new password for this account. We emailed you a link to choose one; you can also ask for a new link with “Forgot your password?”.",
        values,
      };
    }
    // One message for an unknown email and a wrong password.
    if (error instanceof AuthError) return { status: "error", formError: "Incorrect email or password.", values };
    throw error;
  }
  redirect(callbackUrl);
}
