"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { confirmEmailChange } from "@/lib/accounts/change-email";
import { currentSession } from "@/lib/auth/current";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { afterResponse } from "@/lib/job-definitions";
import { describeWait } from "@/lib/rate-limit";
import { ConfirmEmailChangeSchema } from "@/lib/validation/change-email";
import { CHANGE_PROBLEMS } from "../problems";

type Field = "password";

export async function confirmEmailChangeAction(_previous: FormState<Field>, formData: FormData): Promise<FormState<Field>> {
  const parsed = ConfirmEmailChangeSchema.safeParse({ token: formData.get("token"), password: formData.get("password") });
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<Field>(parsed.error) };
  // This browser's own session, if it has one, stays signed in; every other one ends.
  const session = await currentSession();
  const result = await confirmEmailChange(
    await getDb(),
    { ...parsed.data, sessionId: session?.sessionId ?? null, ...requestContext(await headers()) },
    afterResponse,
  );
  if (!result.ok) {
    switch (result.code) {
      case "WRONG_PASSWORD":
        return {
          status: "error",
          fieldErrors: { password: ["That is not the account's password. Nothing changed, and this link still works: try again."] },
        };
      case "RATE_LIMITED":
        return {
          status: "error",
          formError: `Too many attempts. Try again in ${describeWait(result.retryAfterSeconds)}. Nothing changed.`,
        };
      case "ADDRESS_TAKEN":
        return {
          status: "error",
          formError: "This address now belongs to another Rekey account, so it cannot be used. Your address is unchanged.",
        };
      case "TOKEN_PROBLEM": {
        const problem = CHANGE_PROBLEMS[result.problem];
        return { status: "error", formError: `${problem.title}. ${problem.body}` };
      }
    }
  }
  redirect(`/email-change/${encodeURIComponent(parsed.data.token)}?done=1`);
}
