"use client";

import Link from "next/link";
import { EmailField, Field, FormError, NewPasswordFields, SubmitButton, SuccessPanel } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import { checkRegister } from "@/lib/validation/form-checks";
import type { RegisterInput } from "@/lib/validation/forms";
import { ResendVerificationForm } from "../resend-verification/resend-verification-form";
import { registerAction } from "./actions";

export function RegisterForm() {
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor, valueFor } = useActionForm<RegisterInput>({
    check: checkRegister,
    action: registerAction,
    defaultValues: { name: "", email: "", password: "", confirmPassword: "" },
  });

  if (state.status === "success") {
    return (
      <SuccessPanel message={state.message} testId="register-answer">
        <p>
          We sent a link to the address you entered. Open it and enter the password you just chose to confirm the address; it works for 24
          hours. Until then the account cannot be signed in to.
        </p>
        <h2>Didn&apos;t get the email?</h2>
        <ResendVerificationForm email={form.getValues("email")} compact />
        <p className="links">
          <Link href="/login">Go to sign in</Link>
        </p>
      </SuccessPanel>
    );
  }

  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Create an account">
      <FormError state={state} alertRef={alertRef} />
      <Field
        label="Name (optional)"
        type="text"
        autoComplete="name"
        {...form.register("name")}
        errors={errorsFor("name")}
        defaultValue={valueFor("name")}
      />
      <EmailField {...form.register("email")} errors={errorsFor("email")} defaultValue={valueFor("email")} />
      <NewPasswordFields
        labels={{ password: "Password", confirm: "Confirm password" }}
        password={{ ...form.register("password"), errors: errorsFor("password"), value: form.watch("password") ?? "" }}
        confirm={{ ...form.register("confirmPassword"), errors: errorsFor("confirmPassword") }}
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
