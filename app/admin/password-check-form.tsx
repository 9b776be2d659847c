"use client";

import { FormError, PasswordField, SubmitButton } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import type { AdminPasswordCheckInput } from "@/lib/validation/forms";
import { checkAdminPasswordAction } from "./actions";

/** Asked when the session's last password check is older than 10 minutes; comes back to `returnTo`. */
export function PasswordCheckForm({ returnTo }: { returnTo: string }) {
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor } = useActionForm<AdminPasswordCheckInput>({
    schema: () => import("@/lib/validation/forms").then((m) => m.AdminPasswordCheckSchema),
    action: checkAdminPasswordAction,
    defaultValues: { password: "" },
  });
  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Confirm your password">
      <FormError state={state} alertRef={alertRef} />
      <input type="hidden" name="returnTo" value={returnTo} />
      <PasswordField
        label="Password"
        autoComplete="current-password"
        required
        {...form.register("password")}
        errors={errorsFor("password")}
      />
      <SubmitButton busy={busy} busyLabel="Checking…">
        Confirm password
      </SubmitButton>
    </form>
  );
}
