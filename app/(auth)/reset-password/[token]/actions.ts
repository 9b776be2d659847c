"use server";

import { refresh } from "next/cache";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { getDb } from "@/lib/db";
import { requestContext } from "@/lib/client-ip";
import { beginPasskeyReset, resetPassword } from "@/lib/recovery/reset";
import type { PasskeyStepAnswer } from "@/app/_components/passkey-step";
import { parsedAssertion } from "@/app/_components/posted-passkey";
import { ResetPasswordSchema } from "@/lib/validation/forms";
import { SECOND_FACTOR_COPY, tooManyCodesMessage } from "@/app/_components/second-factor-copy";
import { RESET_LINK_ATTEMPTS_SPENT, RESET_LINK_PROBLEMS } from "./token-problems";
import { afterResponse } from "@/lib/job-definitions";

type Field = "password" | "confirmPassword" | "otp" | "recoveryCode" | "passkey";

/** A form field's text, or undefined when the form did not send it (FormData gives null). */
const text = (formData: FormData, name: string): FormDataEntryValue | undefined => formData.get(name) ?? undefined;

/** The passkey request for this reset link, bound to it (the account must have a passkey). */
export async function beginPasskeyResetAction(token: unknown): Promise<PasskeyStepAnswer> {
  const options = typeof token === "string" ? await beginPasskeyReset(await getDb(), token) : null;
  return options ? { ok: true, options } : { ok: false, message: "This link no longer works. Request a new one." };
}

export async function resetPasswordAction(_previous: FormState<Field>, formData: FormData): Promise<FormState<Field>> {
  const raw = {
    token: formData.get("token"),
    password: formData.get("password"),
    confirmPassword: formData.get("confirmPassword"),
    secondFactor: text(formData, "secondFactor"),
    otp: text(formData, "otp"),
    recoveryCode: text(formData, "recoveryCode"),
    passkey: text(formData, "passkey"),
  };
  const parsed = ResetPasswordSchema.safeParse(raw);
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<Field>(parsed.error) };

  const { token, password, secondFactor } = parsed.data;
  // Only the code of the kind the form showed: a stale value of the other field is ignored.
  const code =
    secondFactor === "totp"
      ? { otp: parsed.data.otp }
      : secondFactor === "recovery"
        ? { recoveryCode: parsed.data.recoveryCode }
        : secondFactor === "passkey"
          ? { passkey: parsedAssertion(parsed.data.passkey) }
          : {};
  const requestHeaders = await headers();
  const result = await resetPassword(await getDb(), { token, password, ...code, ...requestContext(requestHeaders) }, afterResponse);
  if (!result.ok) {
    switch (result.code) {
      case "PASSWORD_REJECTED":
        return { status: "error", fieldErrors: { password: result.passwordErrors } };
      case "INVALID_CODE":
        if (secondFactor === "passkey") return { status: "error", formError: "That passkey was not accepted. Try again, or use a code." };
        return {
          status: "error",
          fieldErrors: { [secondFactor === "recovery" ? "recoveryCode" : "otp"]: [SECOND_FACTOR_COPY.INVALID_CODE] },
        };
      case "SECOND_FACTOR_REQUIRED":
        // Two-factor was turned on after the page was drawn: draw it again, with the code field.
        refresh();
        return { status: "error", formError: SECOND_FACTOR_COPY.SECOND_FACTOR_REQUIRED };
      case "RATE_LIMITED":
        return { status: "error", formError: `${tooManyCodesMessage(result.retryAfterSeconds)} Your link still works until it expires.` };
      case "TOKEN_PROBLEM": {
        const problem = RESET_LINK_PROBLEMS[result.problem];
        return { status: "error", formError: `${problem.title}. ${problem.body}` };
      }
      case "TOO_MANY_ATTEMPTS":
        return { status: "error", formError: `${RESET_LINK_ATTEMPTS_SPENT.title}. ${RESET_LINK_ATTEMPTS_SPENT.body}` };
    }
  }
  // No automatic sign-in: the user proves the new password works, on a fresh session.
  redirect("/login?notice=password-reset");
}
