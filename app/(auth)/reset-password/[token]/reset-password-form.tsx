"use client";

import Link from "next/link";
import { Field, FormError, NewPasswordFields, SubmitButton } from "@/app/_components/fields";
import { LostSecondFactorHelp } from "@/app/_components/lost-second-factor";
import { useActionForm } from "@/app/_components/use-action-form";
import { checkResetPassword } from "@/lib/validation/form-checks";
import type { ResetPasswordInput } from "@/lib/validation/forms";
import { resetPasswordAction } from "./actions";

/** Which second factor the form asks for: none, the authenticator's code, or a recovery code. */
export type SecondFactorMethod = "totp" | "recovery" | null;

export function ResetPasswordForm({ token, secondFactor }: { token: string; secondFactor: SecondFactorMethod }) {
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor } = useActionForm<ResetPasswordInput>({
    check: checkResetPassword,
    action: resetPasswordAction,
    defaultValues: { token, password: "", confirmPassword: "", secondFactor: secondFactor ?? undefined, otp: "", recoveryCode: "" },
  });
  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Choose a new password">
      <FormError state={state} alertRef={alertRef}>
        <p>
          <Link href="/forgot-password">Request a new link</Link>
        </p>
      </FormError>
      <input type="hidden" {...form.register("token")} value={token} />
      {secondFactor ? <input type="hidden" {...form.register("secondFactor")} value={secondFactor} /> : null}
      {secondFactor === "totp" ? (
        <Field
          label="Authentication code"
          {...form.register("otp")}
          errors={errorsFor("otp")}
          inputMode="numeric"
          autoComplete="one-time-code"
          spellCheck={false}
          required
          hint="The 6-digit code your authenticator app shows for this account."
        />
      ) : null}
      {secondFactor === "totp" ? (
        <p className="hint">
          <Link href={`/reset-password/${token}?method=recovery`}>Use a recovery code</Link>
        </p>
      ) : null}
      {secondFactor === "recovery" ? (
        <Field
          label="Recovery code"
          {...form.register("recoveryCode")}
          errors={errorsFor("recoveryCode")}
          autoComplete="off"
          autoCapitalize="characters"
          spellCheck={false}
          required
          hint="One of the codes you saved when you turned on two-factor authentication; each works once."
        />
      ) : null}
      {secondFactor === "recovery" ? (
        <p className="hint">
          <Link href={`/reset-password/${token}`}>Use your authenticator app instead</Link>
        </p>
      ) : null}
      <NewPasswordFields
        labels={{ password: "New password", confirm: "Confirm new password" }}
        password={{ ...form.register("password"), errors: errorsFor("password"), value: form.watch("password") ?? "" }}
        confirm={{ ...form.register("confirmPassword"), errors: errorsFor("confirmPassword") }}
      />
      <SubmitButton busy={busy} busyLabel="Saving…">
        Set new password
      </SubmitButton>
      {secondFactor ? <LostSecondFactorHelp /> : null}
    </form>
  );
}
