"use client";

import Link from "next/link";
import { FormError, PasswordField, SubmitButton } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import { checkVerifyEmail } from "@/lib/validation/form-checks";
import type { VerifyEmailInput } from "@/lib/validation/forms";
import { verifyEmailAction } from "./actions";

export function VerifyEmailForm({ token }: { token: string }) {
  const { form, formAction, formRef, alertRef, onSubmit, busy, errorsFor, state } = useActionForm<VerifyEmailInput>({
    check: checkVerifyEmail,
    action: verifyEmailAction,
    defaultValues: { token, password: "" },
  });
  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Confirm your email address">
      <FormError state={state} alertRef={alertRef} />
      <input type="hidden" {...form.register("token")} value={token} />
      <PasswordField
        label="Password"
        autoComplete="current-password"
        required
        hint="The password chosen when this account was created."
        {...form.register("password")}
        errors={errorsFor("password")}
      />
      <SubmitButton busy={busy} busyLabel="Confirming…">
        Confirm email address
      </SubmitButton>
      <p className="links">
        <Link href="/forgot-password">Did not create this account, or forgot the password? Reset it instead</Link>
      </p>
    </form>
  );
}
