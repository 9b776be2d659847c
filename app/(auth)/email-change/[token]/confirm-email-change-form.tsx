"use client";

import { FormError, PasswordField, SubmitButton } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import { checkConfirmEmailChange } from "@/lib/validation/form-checks";
import type { ConfirmEmailChangeInput } from "@/lib/validation/change-email";
import { confirmEmailChangeAction } from "./actions";

export function ConfirmEmailChangeForm({ token }: { token: string }) {
  const { form, formAction, formRef, alertRef, onSubmit, busy, errorsFor, state } = useActionForm<ConfirmEmailChangeInput>({
    check: checkConfirmEmailChange,
    action: confirmEmailChangeAction,
    defaultValues: { token, password: "" },
  });
  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Confirm new email address">
      <FormError state={state} alertRef={alertRef} />
      <input type="hidden" {...form.register("token")} value={token} />
      <PasswordField
        label="Password"
        autoComplete="current-password"
        required
        hint="Your Rekey account's password."
        {...form.register("password")}
        errors={errorsFor("password")}
      />
      <SubmitButton busy={busy} busyLabel="Confirming…">
        Confirm new email address
      </SubmitButton>
    </form>
  );
}
