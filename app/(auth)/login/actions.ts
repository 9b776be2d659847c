"use server";

import { AuthError } from "next-auth";
import { redirect } from "next/navigation";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { signIn } from "@/lib/auth/config";
import { safeCallbackPath } from "@/lib/safe-redirect";
import { LoginSchema } from "@/lib/validation/forms";

type Field = "email" | "password";

export async function loginAction(_previous: FormState<Field>, formData: FormData): Promise<FormState<Field>> {
  const raw = { email: formData.get("email"), password: formData.get("password"), callbackUrl: formData.get("callbackUrl") ?? undefined };
  const values = { email: typeof raw.email === "string" ? raw.email : "" };
  const parsed = LoginSchema.safeParse(raw);
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<Field>(parsed.error), values };

  try {
    await signIn("credentials", { email: parsed.data.email, password: parsed.data.password, redirect: false });
  } catch (error) {
    // One message for an unknown email and a wrong password.
    if (error instanceof AuthError) return { status: "error", formError: "Incorrect email or password.", values };
    throw error;
  }
  redirect(safeCallbackPath(parsed.data.callbackUrl));
}
