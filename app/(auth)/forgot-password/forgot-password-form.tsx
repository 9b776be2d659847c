"use client";

import Link from "next/link";
import { useEffect, useRef } from "react";
import { Field, FormAlert, SubmitButton } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import { ForgotPasswordSchema, type ForgotPasswordInput } from "@/lib/validation/forms";
import { forgotPasswordAction } from "./actions";

export function ForgotPasswordForm() {
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor, valueFor } = useActionForm<ForgotPasswordInput>({
    schema: ForgotPasswordSchema,
    action: forgotPasswordAction,
    defaultValues: { email: "" },
  });
  const successRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (state.status === "success") successRef.current?.focus();
  }, [state]);

  if (state.status === "success") {
    return (
      <div className="stack">
        <FormAlert tone="success" alertRef={successRef}>
          <p data-testid="forgot-password-answer">{state.message}</p>
        </FormAlert>
        <p className="links">
          <Link href="/login">Back to sign in</Link>
          <a href="/forgot-password">Send another link</a>
        </p>
      </div>
    );
  }

  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Request a password reset link">
      {state.status === "error" && state.formError ? (
        <FormAlert tone="error" alertRef={alertRef}>
          <p>{state.formError}</p>
        </FormAlert>
      ) : null}
      <Field
        label="Email"
        type="email"
        autoComplete="email"
        inputMode="email"
        required
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
