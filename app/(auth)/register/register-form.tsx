"use client";

import Link from "next/link";
import { useEffect, useId, useRef } from "react";
import { Field, FormAlert, PasswordField, PasswordRules, SubmitButton } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import { RegisterSchema, type RegisterInput } from "@/lib/validation/forms";
import { registerAction } from "./actions";

export function RegisterForm() {
  const rulesId = useId();
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor, valueFor } = useActionForm<RegisterInput>({
    schema: RegisterSchema,
    action: registerAction,
    defaultValues: { name: "", email: "", password: "", confirmPassword: "" },
  });
  const password = form.watch("password") ?? "";
  const successRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (state.status === "success") successRef.current?.focus();
  }, [state]);

  if (state.status === "success") {
    return (
      <div className="stack">
        <FormAlert tone="success" alertRef={successRef}>
          <p data-testid="register-answer">{state.message}</p>
        </FormAlert>
        <p>We sent a link to the address you entered. Open it to confirm the address; it works for 24 hours.</p>
        <p className="links">
          <Link href="/login">Go to sign in</Link>
        </p>
      </div>
    );
  }

  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Create an account">
      {state.status === "error" && state.formError ? (
        <FormAlert tone="error" alertRef={alertRef}>
          <p>{state.formError}</p>
        </FormAlert>
      ) : null}
      <Field label="Name (optional)" type="text" autoComplete="name" {...form.register("name")} errors={errorsFor("name")} defaultValue={valueFor("name")} />
      <Field
        label="Email"
        type="email"
        autoComplete="email"
        inputMode="email"
        required
        {...form.register("email")}
        errors={errorsFor("email")}
        defaultValue={valueFor("email")}
      />
      <PasswordField
        label="Password"
        autoComplete="new-password"
        required
        {...form.register("password")}
        errors={errorsFor("password")}
        hint={<PasswordRules id={rulesId} password={password} />}
      />
      <PasswordField
        label="Confirm password"
        autoComplete="new-password"
        required
        {...form.register("confirmPassword")}
        errors={errorsFor("confirmPassword")}
      />
      <SubmitButton busy={busy} busyLabel="Creating account…">
        Create account
      </SubmitButton>
      <p className="links">
        <Link href="/login">Already have an account? Sign in</Link>
      </p>
    </form>
  );
}
