"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { getDb } from "@/lib/db";
import { requestContext } from "@/lib/client-ip";
import { verifyEmail } from "@/lib/accounts/verify-email";
import { describeWait } from "@/lib/rate-limit";
import { VerifyEmailSchema } from "@/lib/validation/forms";
import { VERIFY_PROBLEMS } from "./problems";

type Field = "password";

export async function verifyEmailAction(_previous: FormState<Field>, formData: FormData): Promise<FormState<Field>> {
  const parsed = VerifyEmailSchema.safeParse({ token: formData.get("token"), password: formData.get("password") });
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<Field>(parsed.error) };

  const result = await verifyEmail(await getDb(), { ...parsed.data, ...requestContext(await headers()) });
  if (!result.ok) {
    switch (result.code) {
      case "WRONG_PASSWORD":
        return {
          status: "error",
          fieldErrors: {
            password: [
              "That is not the password chosen when this account was created. Nothing was confirmed, and this link still works: try again.",
            ],
          },
        };
      case "RATE_LIMITED":
        return {
          status: "error",
          formError: `Too many attempts. Try again in ${describeWait(result.retryAfterSeconds)}. Nothing was confirmed, and this link still works.`,
        };
      case "TOKEN_PROBLEM": {
        const problem = VERIFY_PROBLEMS[result.problem];
        return { status: "error", formError: `${problem.title}. ${problem.body}` };
      }
    }
  }
  redirect(`/verify-email/${encodeURIComponent(parsed.data.token)}?verified=1`);
}
