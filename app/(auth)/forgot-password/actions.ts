"use server";

import { headers } from "next/headers";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { getDb } from "@/lib/db";
import { requestContext } from "@/lib/client-ip";
import { requestPasswordReset } from "@/lib/recovery/request";
import { describeWait } from "@/lib/rate-limit";
import { ForgotPasswordSchema } from "@/lib/validation/forms";
import { afterResponse } from "@/lib/job-definitions";

type Field = "email";

export async function forgotPasswordAction(_previous: FormState<Field>, formData: FormData): Promise<FormState<Field>> {
  const email = formData.get("email");
  const values = { email: typeof email === "string" ? email : "" };
  const parsed = ForgotPasswordSchema.safeParse({ email });
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<Field>(parsed.error), values };

  const requestHeaders = await headers();
  const result = await requestPasswordReset(await getDb(), { email: parsed.data.email, ...requestContext(requestHeaders) }, afterResponse);
  if (!result.ok) {
    return { status: "error", formError: `Too many requests, try again in ${describeWait(result.retryAfterSeconds)}.`, values };
  }
  return {
    status: "success",
    message: `If an account exists for that email, we've sent a link to reset your password. It expires in ${result.expiresInMinutes} minutes.`,
  };
}
