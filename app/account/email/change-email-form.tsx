"use client";

import Link from "next/link";
import { Field, FormError, SubmitButton } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import { checkChangeEmail } from "@/lib/validation/form-checks";
import type { ChangeEmailInput } from "@/lib/validation/change-email";
import { changeEmailAction } from "./actions";

export function ChangeEmailForm() {
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor, valueFor } = useActionForm<ChangeEmailInput>({
    check: checkChangeEmail,
    action: changeEmailAction,
    defaultValues: { newEmail: "" },
  });
  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Change email address">
      <FormError state={state} alertRef={alertRef} />
      <Field
        label="New email address"
        type="email"
        autoComplete="email"
        inputMode="email"
        required
        hint="We send a link there. The change happens only once you open it and enter your password."
        defaultValue={valueFor("newEmail")}
        {...form.register("newEmail")}
        errors={errorsFor("newEmail")}
      />
      <SubmitButton busy={busy} busyLabel="Sending…">
        Send confirmation link
      </SubmitButton>
      <p className="links">
        <Link href="/account">Back to your account</Link>
      </p>
    </form>
  );
}
