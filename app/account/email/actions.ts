"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { confirmIdentityRefusal, confirmationNeededMessage } from "@/app/_components/confirm-identity-copy";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { requestEmailChange } from "@/lib/accounts/change-email";
import { reauthMinutes } from "@/lib/auth/confirm-identity";
import { requireSession } from "@/lib/auth/current";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { afterResponse } from "@/lib/job-definitions";
import { describeWait } from "@/lib/rate-limit";
import { ChangeEmailSchema } from "@/lib/validation/change-email";

type Field = "newEmail";

export async function changeEmailAction(_previous: FormState<Field>, formData: FormData): Promise<FormState<Field>> {
  const session = await requireSession("/account/email");
  const parsed = ChangeEmailSchema.safeParse({ newEmail: formData.get("newEmail") });
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<Field>(parsed.error) };
  const result = await requestEmailChange(
    await getDb(),
    { userId: session.user.id, sessionId: session.sessionId, newEmail: parsed.data.newEmail, ...requestContext(await headers()) },
    afterResponse,
  );
  if (!result.ok) {
    switch (result.code) {
      case "SAME_ADDRESS":
        return { status: "error", fieldErrors: { newEmail: ["That is already your email address."] }, values: parsed.data };
      case "CONFIRMATION_NEEDED":
        return { status: "error", formError: confirmationNeededMessage(reauthMinutes()) };
      case "RATE_LIMITED":
        return { status: "error", formError: `Too many change requests. Try again in ${describeWait(result.retryAfterSeconds)}.` };
      default: {
        const refusal = confirmIdentityRefusal(result);
        return { status: "error", formError: refusal.status === "error" ? refusal.formError : undefined };
      }
    }
  }
  redirect("/account/email?sent=1");
}
