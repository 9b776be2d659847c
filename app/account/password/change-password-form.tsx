"use client";

import Link from "next/link";
import { useId } from "react";
import { FormAlert, PasswordField, PasswordRules, SubmitButton } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import { ChangePasswordSchema, type ChangePasswordInput } from "@/lib/validation/forms";
import { changePasswordAction } from "./actions";

export function ChangePasswordForm() {
  const rulesId = useId();
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor } = useActionForm<ChangePasswordInput>({
    schema: ChangePasswordSchema,
    action: changePasswordAction,
    defaultValues: { currentPassword: "", password: "", confirmPassword: "" },
  });
  const password = form.watch("password") ?? "";
  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Change password">
      {state.status === "error" && state.formError ? (
        <FormAlert tone="error" alertRef={alertRef}>
          <p>{state.formError}</p>
        </FormAlert>
      ) : null}
      <PasswordField label="Current password" autoComplete="current-password" required {...form.register("currentPassword")} errors={errorsFor("currentPassword")} />
      <PasswordField
        label="New password"
        autoComplete="new-password"
        required
        {...form.register("password")}
        errors={errorsFor("password")}
        hint={<PasswordRules id={rulesId} password={password} />}
      />
      <PasswordField label="Confirm new password" autoComplete="new-password" required {...form.register("confirmPassword")} errors={errorsFor("confirmPassword")} />
      <SubmitButton busy={busy} busyLabel="Saving…">
        Change password
      </SubmitButton>
      <p className="links">
        <Link href="/account">Back to your account</Link>
        <Link href="/forgot-password">Forgot your current password?</Link>
      </p>
    </form>
  );
}
