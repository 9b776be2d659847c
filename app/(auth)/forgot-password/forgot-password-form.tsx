"use client";

import Link from "next/link";
import { EmailField, FormError, SubmitButton, SuccessPanel } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import { checkForgotPassword } from "@/lib/validation/form-checks";
import type { ForgotPasswordInput } from "@/lib/validation/forms";
import { forgotPasswordAction } from "./actions";

export function ForgotPasswordForm() {
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor, valueFor } = useActionForm<ForgotPasswordInput>({
    check: checkForgotPassword,
    action: forgotPasswordAction,
    defaultValues: { email: "" },
  });

  if (state.status === "success") {
    return (
      <SuccessPanel message={state.message} testId="forgot-password-answer">
        <p className="links">
          <Link href="/login">Back to sign in</Link>
          <a href="/forgot-password">Send another link</a>
        </p>
      </SuccessPanel>
    );
  }

  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Request a password reset link">
      <FormError state={state} alertRef={alertRef} />
      <EmailField
        {...form.register("email")}
        errors={errorsFor("email")}
        defaultValue={valueFor("email")}
        hint="Enter the email address of your account and we will send you a link to choose a new password."
      />
      <SubmitButton busy={busy} busyLabel="Sending…">
        Send reset link
      </SubmitButton>
      <p className="links">
        <Link href="/login">Back to sign in</Link>
      </p>
    </form>
  );
}
