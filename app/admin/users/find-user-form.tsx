"use client";

import { EmailField, FormError, SubmitButton } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import { checkAdminFindUser } from "@/lib/validation/form-checks";
import type { AdminFindUserInput } from "@/lib/validation/forms";
import styles from "../admin.module.css";
import { findUserAction } from "./actions";

export function FindUserForm() {
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor, valueFor } = useActionForm<AdminFindUserInput>({
    check: checkAdminFindUser,
    action: findUserAction,
    defaultValues: { email: "" },
  });
  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Find an account" className={styles.narrow}>
      <FormError state={state} alertRef={alertRef} />
      <EmailField
        hint="The exact address of the account."
        {...form.register("email")}
        defaultValue={valueFor("email")}
        errors={errorsFor("email")}
      />
      <SubmitButton busy={busy} busyLabel="Looking…">
        Find account
      </SubmitButton>
    </form>
  );
}
