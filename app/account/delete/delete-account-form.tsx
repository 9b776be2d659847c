"use client";

import { Field, FormError, SubmitButton } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import { checkDeleteAccount } from "@/lib/validation/form-checks";
import type { DeleteAccountFields } from "@/lib/validation/delete-account";
import { deleteAccountAction } from "./actions";

/** The last step of deleting the account: the address typed, then the button. Works without JavaScript. */
export function DeleteAccountForm() {
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor } = useActionForm<DeleteAccountFields>({
    check: checkDeleteAccount,
    action: deleteAccountAction,
    defaultValues: { email: "" },
  });
  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Delete account">
      <FormError state={state} alertRef={alertRef} />
      <Field
        label="Type your email address to confirm"
        type="email"
        autoComplete="off"
        inputMode="email"
        required
        defaultValue={state.status === "error" ? state.values?.email : undefined}
        {...form.register("email")}
        errors={errorsFor("email")}
      />
      <SubmitButton busy={busy} busyLabel="Deleting…">
        Delete my account
      </SubmitButton>
    </form>
  );
}
