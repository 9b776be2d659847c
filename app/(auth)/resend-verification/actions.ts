"use server";

import { headers } from "next/headers";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { getDb } from "@/lib/db";
import { requestContext } from "@/lib/client-ip";
import { VERIFICATION_TTL_HOURS, requestVerificationEmail } from "@/lib/accounts/verify-email";
import { describeWait } from "@/lib/rate-limit";
import { ResendVerificationSchema } from "@/lib/validation/forms";
import { afterResponse } from "@/lib/job-definitions";

type Field = "email";

export async function resendVerificationAction(_previous: FormState<Field>, formData: FormData): Promise<FormState<Field>> {
  const email = formData.get("email");
  const values = { email: typeof email === "string" ? email : "" };
  const parsed = ResendVerificationSchema.safeParse({ email });
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<Field>(parsed.error), values };

  const result = await requestVerificationEmail(
    await getDb(),
    { email: parsed.data.email, ...requestContext(await headers()) },
    afterResponse,
  );
  if (!result.ok)
    return { status: "error", formError: `Too many requests, try again in ${describeWait(result.retryAfterSeconds)}.`, values };
  // The same answer for every address: whether it has an account waiting for confirmation is
  // looked at after the response.
  return {
    status: "success",
    message: `If that address has an account waiting for confirmation, we sent it a new link. It works for ${VERIFICATION_TTL_HOURS} hours.`,
  };
}
