"use client";

import Link from "next/link";
import { FormError, NewPasswordFields, SubmitButton } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import type { ResetPasswordInput } from "@/lib/validation/forms";
import { resetPasswordAction } from "./actions";

export function ResetPasswordForm({ token }: { token: string }) {
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor } = useActionForm<ResetPasswordInput>({
    schema: () => import("@/lib/validation/forms").then((m) => m.ResetPasswordSchema),
    action: resetPasswordAction,
    defaultValues: { token, password: "", confirmPassword: "" },
  });
  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Choose a new password">
      <FormError state={state} alertRef={alertRef}>
        <p>
          <Link href="/forgot-password">Request a new link</Link>
        </p>
      </FormError>
      <input type="hidden" {...form.register("token")} value={token} />
      <NewPasswordFields
        labels={{ password: "New password", confirm: "Confirm new password" }}
        password={{ ...form.register("password"), errors: errorsFor("password"), value: form.watch("password") ?? "" }}
        confirm={{ ...form.register("confirmPassword"), errors: errorsFor("confirmPassword") }}
      />
      <SubmitButton busy={busy} busyLabel="Saving…">
        Set new password
      </SubmitButton>
    </form>
  );
}
