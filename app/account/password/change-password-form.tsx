"use client";

import Link from "next/link";
import { FormError, NewPasswordFields, PasswordField, SubmitButton } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import { checkChangePassword } from "@/lib/validation/form-checks";
import type { ChangePasswordInput } from "@/lib/validation/forms";
import { changePasswordAction } from "./actions";

export function ChangePasswordForm() {
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor } = useActionForm<ChangePasswordInput>({
    check: checkChangePassword,
    action: changePasswordAction,
    defaultValues: { currentPassword: "", password: "", confirmPassword: "" },
  });
  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Change password">
      <FormError state={state} alertRef={alertRef} />
      <PasswordField
        label="Current password"
        autoComplete="current-password"
        required
        {...form.register("currentPassword")}
        errors={errorsFor("currentPassword")}
      />
      <NewPasswordFields
        labels={{ password: "New password", confirm: "Confirm new password" }}
        password={{ ...form.register("password"), errors: errorsFor("password"), value: form.watch("password") ?? "" }}
        confirm={{ ...form.register("confirmPassword"), errors: errorsFor("confirmPassword") }}
      />
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
