"use server";

import { cookies, headers } from "next/headers";
import { deviceCookieName, sessionCookieName } from "@/lib/auth/cookie-names";
import { redirect } from "next/navigation";
import { getDb } from "@/lib/db";
import { confirmIdentity } from "@/lib/auth/confirm-identity";
import { beginPasskeyAuthentication } from "@/lib/second-factor/passkey-ceremony";
import { requireSession } from "@/lib/auth/current";
import { requestContext } from "@/lib/client-ip";
import { afterResponse } from "@/lib/job-definitions";
import { safeCallbackPath } from "@/lib/safe-redirect";
import { ConfirmIdentitySchema } from "@/lib/validation/confirm-identity";
import { confirmIdentityRefusal, type ConfirmField } from "./confirm-identity-copy";
import { fieldErrorsOf, type FormState } from "./form-state";
import type { PasskeyStepAnswer } from "./passkey-step";
import { postedPasskey } from "./posted-passkey";

/** A passkey request for "Confirm it's you", bound to this session's token. */
export async function beginConfirmPasskeyAction(returnTo: unknown): Promise<PasskeyStepAnswer> {
  const session = await requireSession(safeCallbackPath(typeof returnTo === "string" ? returnTo : undefined));
  const sessionToken = (await cookies()).get(sessionCookieName())?.value;
  if (!sessionToken) return { ok: false, message: "This session has ended. Sign in again." };
  const options = await beginPasskeyAuthentication(await getDb(), { purpose: "confirm", userId: session.user.id, binding: sessionToken });
  return { ok: true, options };
}

/**
 * "Confirm it's you" for a signed-in person: on success, back to the page that asked
 * (`returnTo`, a same-site path), which now offers the change.
 */
export async function confirmIdentityAction(_previous: FormState<ConfirmField>, formData: FormData): Promise<FormState<ConfirmField>> {
  const returnTo = safeCallbackPath(formData.get("returnTo"));
  const session = await requireSession(returnTo);
  const parsed = ConfirmIdentitySchema.safeParse({
    password: formData.get("password") ?? undefined,
    code: formData.get("code") ?? undefined,
  });
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<ConfirmField>(parsed.error) };
  const jar = await cookies();
  const passkey = postedPasskey(formData, jar.get(sessionCookieName())?.value);
  const result = await confirmIdentity(
    await getDb(),
    {
      userId: session.user.id,
      sessionId: session.sessionId,
      ...parsed.data,
      passkey,
      deviceCookie: jar.get(deviceCookieName())?.value ?? null,
      ...requestContext(await headers()),
    },
    afterResponse,
  );
  if (!result.ok) return confirmIdentityRefusal(result);
  redirect(returnTo);
}
