"use client";

import Link from "next/link";
import { EmailField, FormError, PasswordField, SubmitButton } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import { checkLogin } from "@/lib/validation/form-checks";
import type { LoginInput } from "@/lib/validation/forms";
import { loginAction } from "./actions";

export function LoginForm({ callbackUrl }: { callbackUrl: string }) {
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor, valueFor } = useActionForm<LoginInput>({
    check: checkLogin,
    action: loginAction,
    defaultValues: { email: "", password: "", callbackUrl },
  });
  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Sign in">
      <FormError state={state} alertRef={alertRef} />
      <input type="hidden" {...form.register("callbackUrl")} value={callbackUrl} />
      {/* "webauthn": the browser may offer this site's passkeys in the field's suggestions (PasskeySignIn). */}
      <EmailField
        autoComplete="username webauthn"
        {...form.register("email")}
        errors={errorsFor("email")}
        defaultValue={valueFor("email")}
      />
      <PasswordField
        label="Password"
        autoComplete="current-password"
        required
        {...form.register("password")}
        errors={errorsFor("password")}
      />
      <SubmitButton busy={busy} busyLabel="Signing in…">
        Sign in
      </SubmitButton>
      <p className="links">
        <Link href="/forgot-password">Forgot password?</Link>
        <Link href="/register">Create an account</Link>
        <Link href="/resend-verification">Didn&apos;t get the confirmation email?</Link>
      </p>
    </form>
  );
}
