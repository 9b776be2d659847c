"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { tooManyCodesMessage } from "@/app/_components/second-factor-copy";
import { getDb } from "@/lib/db";
import { requireSession } from "@/lib/auth/current";
import { requestContext } from "@/lib/client-ip";
import { confirmEnrolment, disableTwoFactor, replaceRecoveryCodes } from "@/lib/second-factor/enrolment";
import { DisableTwoFactorSchema, EnableTwoFactorSchema } from "@/lib/validation/forms";
import { afterResponse } from "@/lib/job-definitions";

const PAGE = "/account/two-factor";
const WRONG_CODE = "That code is not right. Enter the code your app shows now (check that your device's clock is correct).";

/** Confirms the offered key with a code from the app; the answer carries the recovery codes, once. */
export async function enableTwoFactorAction(_previous: FormState<"code">, formData: FormData): Promise<FormState<"code">> {
  const session = await requireSession(PAGE);
  const parsed = EnableTwoFactorSchema.safeParse({ code: formData.get("code") });
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<"code">(parsed.error) };
  const result = await confirmEnrolment(
    await getDb(),
    { userId: session.user.id, code: parsed.data.code, ...requestContext(await headers()) },
    afterResponse,
  );
  if (result.ok) {
    return { status: "success", message: "Two-factor authentication is on.", recoveryCodes: result.recoveryCodes };
  }
  switch (result.code) {
    case "INVALID_CODE":
      return { status: "error", fieldErrors: { code: [WRONG_CODE] } };
    case "RATE_LIMITED":
      return { status: "error", formError: tooManyCodesMessage(result.retryAfterSeconds) };
    case "ENROLMENT_EXPIRED":
      return { status: "error", formError: "This setup key has expired. Reload the page for a new one, and add that to your app instead." };
    case "ALREADY_ENABLED":
      redirect(PAGE);
  }
}

/** Replaces every recovery code; the answer carries the new ones, once. */
export async function newRecoveryCodesAction(): Promise<FormState> {
  const session = await requireSession(PAGE);
  const result = await replaceRecoveryCodes(await getDb(), { userId: session.user.id, ...requestContext(await headers()) });
  if (!result.ok) return { status: "error", formError: "Two-factor authentication is not on, so there are no recovery codes to replace." };
  return { status: "success", message: "New recovery codes made. The old ones no longer work.", recoveryCodes: result.recoveryCodes };
}

type DisableField = "password" | "code";

/** Turns two-factor authentication off: the password and a current code. */
export async function disableTwoFactorAction(_previous: FormState<DisableField>, formData: FormData): Promise<FormState<DisableField>> {
  const session = await requireSession(PAGE);
  const parsed = DisableTwoFactorSchema.safeParse({ password: formData.get("password"), code: formData.get("code") });
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<DisableField>(parsed.error) };
  const result = await disableTwoFactor(
    await getDb(),
    { userId: session.user.id, password: parsed.data.password, otp: parsed.data.code, ...requestContext(await headers()) },
    afterResponse,
  );
  if (!result.ok) {
    switch (result.code) {
      case "WRONG_PASSWORD":
        return { status: "error", fieldErrors: { password: ["That is not your password."] } };
      case "INVALID_CODE":
        return { status: "error", fieldErrors: { code: [WRONG_CODE] } };
      case "RATE_LIMITED":
        return { status: "error", formError: tooManyCodesMessage(result.retryAfterSeconds) };
      case "NOT_ENABLED":
        redirect(PAGE);
    }
  }
  redirect(`${PAGE}?notice=off`);
}
