"use server";

import { headers } from "next/headers";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { getDb } from "@/lib/db";
import { requestContext } from "@/lib/client-ip";
import { passwordPolicyErrors } from "@/lib/password-hashing";
import { describeWait } from "@/lib/rate-limit";
import { requestRegistration } from "@/lib/accounts/register";
import { RegisterSchema } from "@/lib/validation/forms";
import { afterResponse } from "@/lib/job-definitions";

type Field = "name" | "email" | "password" | "confirmPassword";

export async function registerAction(_previous: FormState<Field>, formData: FormData): Promise<FormState<Field>> {
  const raw = {
    name: formData.get("name") ?? undefined,
    email: formData.get("email"),
    password: formData.get("password"),
    confirmPassword: formData.get("confirmPassword"),
  };
  const values = {
    name: typeof raw.name === "string" ? raw.name : "",
    email: typeof raw.email === "string" ? raw.email : "",
  };
  const parsed = RegisterSchema.safeParse(raw);
  const fieldErrors = parsed.success ? {} : fieldErrorsOf<Field>(parsed.error);
  // The common-passwords check runs on the server too (the client loads it lazily).
  if (typeof raw.password === "string" && !fieldErrors.password) {
    const policy = await passwordPolicyErrors(raw.password);
    if (policy.length > 0) fieldErrors.password = policy;
  }
  if (!parsed.success || Object.keys(fieldErrors).length > 0) return { status: "error", fieldErrors, values };

  const requestHeaders = await headers();
  const result = await requestRegistration(await getDb(), { ...parsed.data, ...requestContext(requestHeaders) }, afterResponse);
  if (!result.ok)
    return {
      status: "error",
      formError: `Too many sign-ups from your network, try again in ${describeWait(result.retryAfterSeconds)}.`,
      values,
    };
  // The same answer for a new address and one that already has an account.
  return { status: "success", message: "Check your email to finish creating your account." };
}
