"use client";

import Link from "next/link";
import { EmailField, FormError, SubmitButton, SuccessPanel } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import { checkResendVerification } from "@/lib/validation/form-checks";
import type { ResendVerificationInput } from "@/lib/validation/forms";
import { resendVerificationAction } from "./actions";

/** "Send the confirmation link again": on its own page and under registration's answer. */
export function ResendVerificationForm({ email = "", compact = false }: { email?: string; compact?: boolean }) {
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor, valueFor } = useActionForm<ResendVerificationInput>({
    check: checkResendVerification,
    action: resendVerificationAction,
    defaultValues: { email },
  });

  if (state.status === "success") {
    return (
      <SuccessPanel message={state.message} testId="resend-verification-answer">
        <p className="links">
          <Link href="/login">Go to sign in</Link>
        </p>
      </SuccessPanel>
    );
  }

  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Send the confirmation link again">
      <FormError state={state} alertRef={alertRef} />
      <EmailField
        {...form.register("email")}
        errors={errorsFor("email")}
        defaultValue={valueFor("email") ?? email}
        hint={compact ? undefined : "The address you registered with. Links sent before keep working until they expire."}
      />
      <SubmitButton busy={busy} busyLabel="Sending…">
        Send the link again
      </SubmitButton>
    </form>
  );
}
