"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { registerUser } from "@/lib/accounts";
import { signIn } from "@/lib/auth/config";
import { clientIp, userAgent } from "@/lib/client-ip";
import { getDb } from "@/db/client";
import { passwordPolicyErrors } from "@/lib/passwords";
import { RegisterSchema } from "@/lib/validation/forms";

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
  // The common-passwords check runs on the server only (the client loads it lazily).
  if (typeof raw.password === "string" && !fieldErrors.password) {
    const policy = await passwordPolicyErrors(raw.password);
    if (policy.length > 0) fieldErrors.password = policy;
  }
  if (!parsed.success || Object.keys(fieldErrors).length > 0) return { status: "error", fieldErrors, values };

  const requestHeaders = await headers();
  const result = await registerUser(await getDb(), {
    ...parsed.data,
    ip: clientIp(requestHeaders),
    userAgent: userAgent(requestHeaders),
  });
  if (!result.ok) {
    return {
      status: "error",
      fieldErrors: { email: ["An account with this email already exists. Sign in, or reset your password."] },
      values,
    };
  }
  await signIn("credentials", { email: parsed.data.email, password: parsed.data.password, redirect: false });
  redirect("/account");
}
