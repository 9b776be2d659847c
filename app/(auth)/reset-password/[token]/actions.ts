"use server";

import { after } from "next/server";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { getDb } from "@/db/client";
import { requestContext } from "@/lib/client-ip";
import { resetPassword } from "@/lib/password-reset";
import { ResetPasswordSchema } from "@/lib/validation/forms";
import { TOKEN_PROBLEM_COPY } from "./token-problems";

type Field = "password" | "confirmPassword";

export async function resetPasswordAction(_previous: FormState<Field>, formData: FormData): Promise<FormState<Field>> {
  const raw = { token: formData.get("token"), password: formData.get("password"), confirmPassword: formData.get("confirmPassword") };
  const parsed = ResetPasswordSchema.safeParse(raw);
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<Field>(parsed.error) };

  const requestHeaders = await headers();
  const result = await resetPassword(
    await getDb(),
    { token: parsed.data.token, password: parsed.data.password, ...requestContext(requestHeaders) },
    (task) => after(task),
  );
  if (!result.ok) {
    if (result.code === "PASSWORD_REJECTED") return { status: "error", fieldErrors: { password: result.passwordErrors } };
    const problem = TOKEN_PROBLEM_COPY[result.code];
    return { status: "error", formError: `${problem.title}. ${problem.body}` };
  }
  // No automatic sign-in: the user proves the new password works, on a fresh session.
  redirect("/login?notice=password-reset");
}
