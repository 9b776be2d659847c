"use client";

import Link from "next/link";
import { Field, FormError, SubmitButton } from "@/app/_components/fields";
import { LostSecondFactorHelp } from "@/app/_components/lost-second-factor";
import { useActionForm } from "@/app/_components/use-action-form";
import { type FormCheck, checkSignInCode, checkSignInRecoveryCode } from "@/lib/validation/form-checks";
import type { SignInCodeInput, SignInRecoveryCodeInput } from "@/lib/validation/forms";
import { secondStepAction } from "./actions";
import { secondStepPath, type SecondStepMethod } from "./paths";

type Values = Partial<SignInCodeInput & SignInRecoveryCodeInput>;

/**
 * "Authentication code", or "Recovery code" after "Use a recovery code" (a plain link, so it works
 * without JavaScript). Without two-factor (`totp` false: a passkey-only account) only recovery codes.
 */
export function SecondStepForm({ method, callbackUrl, totp }: { method: SecondStepMethod; callbackUrl: string; totp: boolean }) {
  const recovery = method === "recovery";
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor } = useActionForm<Values>({
    check: (recovery ? checkSignInRecoveryCode : checkSignInCode) as FormCheck<Values>,
    action: secondStepAction,
    defaultValues: recovery ? { recoveryCode: "", callbackUrl } : { otp: "", callbackUrl },
  });
  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Two-factor authentication">
      <FormError state={state} alertRef={alertRef} />
      <input type="hidden" {...form.register("callbackUrl")} value={callbackUrl} />
      <input type="hidden" name="method" value={method} />
      {recovery ? (
        <Field
          label="Recovery code"
          autoComplete="off"
          spellCheck={false}
          autoCapitalize="characters"
          required
          hint="One of the codes you saved when you turned on two-factor authentication. Each works once."
          {...form.register("recoveryCode")}
          errors={errorsFor("recoveryCode")}
        />
      ) : (
        <Field
          label="Authentication code"
          inputMode="numeric"
          autoComplete="one-time-code"
          required
          hint="The 6-digit code your authenticator app shows for Rekey."
          {...form.register("otp")}
          errors={errorsFor("otp")}
        />
      )}
      <SubmitButton busy={busy} busyLabel="Verifying…">
        Verify
      </SubmitButton>
      <p className="links">
        {!totp ? null : recovery ? (
          <Link href={secondStepPath("app", callbackUrl)}>Use your authenticator app</Link>
        ) : (
          <Link href={secondStepPath("recovery", callbackUrl)}>Use a recovery code</Link>
        )}
        <Link href={`/login?${new URLSearchParams({ callbackUrl })}`}>Sign in again</Link>
      </p>
      <LostSecondFactorHelp />
    </form>
  );
}
