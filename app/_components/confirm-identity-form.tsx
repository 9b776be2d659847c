"use client";

import { useId } from "react";
import type { ConfirmIdentityFields } from "@/lib/validation/confirm-identity";
import { confirmIdentityAction } from "./confirm-identity-action";
import type { ConfirmField } from "./confirm-identity-copy";
import { Field, FormError, PasswordField, SubmitButton } from "./fields";
import type { FormState } from "./form-state";
import { useActionForm } from "./use-action-form";
import { checkConfirmIdentity } from "@/lib/validation/form-checks";

type ConfirmAction = (state: FormState<ConfirmField>, formData: FormData) => Promise<FormState<ConfirmField>>;

/**
 * "Confirm it's you": the password, plus the authentication code when the account has two-factor
 * on, asked in place on a page whose changes need a recent confirmation. The action comes back to
 * `returnTo` (this page), which then offers the change. Works without JavaScript.
 */
export function ConfirmIdentityForm({
  returnTo,
  twoFactor,
  reason,
  minutes,
  action = confirmIdentityAction,
}: {
  returnTo: string;
  twoFactor: boolean;
  /** One sentence: what needs the confirmation. */
  reason: string;
  minutes: number;
  action?: ConfirmAction;
}) {
  const headingId = useId();
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor } = useActionForm<ConfirmIdentityFields>({
    check: checkConfirmIdentity,
    action,
    defaultValues: { password: "", code: "" },
  });
  return (
    <section className="stack" aria-labelledby={headingId} data-testid="confirm-identity">
      <h2 id={headingId}>Confirm it&apos;s you</h2>
      <p>
        {reason} Enter your password{twoFactor ? " and a code from your authenticator app" : ""} to go on: someone who only has this browser
        (a stolen cookie, a computer left signed in) cannot. You will not be asked again for {minutes} minutes.
      </p>
      <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-labelledby={headingId}>
        <FormError state={state} alertRef={alertRef} />
        <input type="hidden" name="returnTo" value={returnTo} />
        <PasswordField
          label="Password"
          autoComplete="current-password"
          required
          {...form.register("password")}
          errors={errorsFor("password")}
        />
        {twoFactor ? (
          <Field
            label="Authentication code"
            hint="The 6-digit code your app shows now, or one of your recovery codes."
            required
            type="text"
            autoComplete="one-time-code"
            maxLength={64}
            spellCheck={false}
            autoCapitalize="none"
            {...form.register("code")}
            errors={errorsFor("code")}
          />
        ) : null}
        <SubmitButton busy={busy} busyLabel="Checking…">
          Confirm
        </SubmitButton>
      </form>
    </section>
  );
}
