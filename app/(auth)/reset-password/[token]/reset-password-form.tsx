"use client";

import Link from "next/link";
import { useId } from "react";
import { FormAlert, PasswordField, PasswordRules, SubmitButton } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import { ResetPasswordSchema, type ResetPasswordInput } from "@/lib/validation/forms";
import { resetPasswordAction } from "./actions";

export function ResetPasswordForm({ token }: { token: string }) {
  const rulesId = useId();
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor } = useActionForm<ResetPasswordInput>({
    schema: ResetPasswordSchema,
    action: resetPasswordAction,
    defaultValues: { token, password: "", confirmPassword: "" },
  });
  const password = form.watch("password") ?? "";
  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Choose a new password">
      {state.status === "error" && state.formError ? (
        <FormAlert tone="error" alertRef={alertRef}>
          <p>{state.formError}</p>
          <p>
            <Link href="/forgot-password">Request a new link</Link>
          </p>
        </FormAlert>
      ) : null}
      <input type="hidden" {...form.register("token")} value={token} />
      <PasswordField
        label="New password"
        autoComplete="new-password"
        required
        {...form.register("password")}
        errors={errorsFor("password")}
        hint={<PasswordRules id={rulesId} password={password} />}
      />
      <PasswordField
        label="Confirm new password"
        autoComplete="new-password"
        required
        {...form.register("confirmPassword")}
        errors={errorsFor("confirmPassword")}
      />
      <SubmitButton busy={busy} busyLabel="Saving…">
        Set new password
      </SubmitButton>
    </form>
  );
}
