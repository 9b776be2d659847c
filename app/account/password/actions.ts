"use server";

import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { getDb } from "@/lib/db";
import { requireSession } from "@/lib/auth/current";
import { sessionCookie } from "@/lib/auth/sessions";
import { changePassword } from "@/lib/accounts/change-password";
import { requestContext } from "@/lib/client-ip";
import { describeWait } from "@/lib/rate-limit";
import { ChangePasswordSchema } from "@/lib/validation/forms";
import { afterResponse } from "@/lib/job-definitions";

type Field = "currentPassword" | "password" | "confirmPassword";

export async function changePasswordAction(_previous: FormState<Field>, formData: FormData): Promise<FormState<Field>> {
  const session = await requireSession("/account/password");
  const parsed = ChangePasswordSchema.safeParse({
    currentPassword: formData.get("currentPassword"),
    password: formData.get("password"),
    confirmPassword: formData.get("confirmPassword"),
  });
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<Field>(parsed.error) };

  const requestHeaders = await headers();
  const result = await changePassword(
    await getDb(),
    {
      userId: session.user.id,
      currentPassword: parsed.data.currentPassword,
      newPassword: parsed.data.password,
      currentSessionId: session.sessionId,
      ...requestContext(requestHeaders),
    },
    afterResponse,
  );
  if (!result.ok) {
    switch (result.code) {
      case "WRONG_PASSWORD":
        return { status: "error", fieldErrors: { currentPassword: ["That is not your current password."] } };
      case "RATE_LIMITED":
        return { status: "error", formError: `Too many wrong passwords. Try again in ${describeWait(result.retryAfterSeconds)}.` };
      case "PASSWORD_REJECTED":
        return { status: "error", fieldErrors: { password: result.passwordErrors } };
      case "CONFLICT":
        return { status: "error", formError: "Your password was changed somewhere else a moment ago. Sign in again with the new one." };
    }
  }
  // Every session ended, this one included; this browser continues on a fresh one.
  const cookie = sessionCookie(result.session.sessionToken, result.session.expires);
  (await cookies()).set(cookie.name, cookie.value, cookie.options);
  redirect("/account?notice=password-changed");
}
