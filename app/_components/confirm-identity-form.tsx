"use client";

import { useId, useRef, useState } from "react";
import type { ConfirmIdentityFields } from "@/lib/validation/confirm-identity";
import { beginConfirmPasskeyAction, confirmIdentityAction } from "./confirm-identity-action";
import type { ConfirmField } from "./confirm-identity-copy";
import { Field, FormAlert, FormError, PasswordField, SubmitButton } from "./fields";
import { signWithPasskey } from "./passkey-browser";
import type { FormState } from "./form-state";
import { useActionForm } from "./use-action-form";
import { checkConfirmIdentity } from "@/lib/validation/form-checks";

type ConfirmAction = (state: FormState<ConfirmField>, formData: FormData) => Promise<FormState<ConfirmField>>;

/**
 * "Confirm it's you": the password, plus the authentication code when the account has a second
 * factor (`twoFactor`), or its passkey instead (`passkey`, with JavaScript), asked in place on a
 * page whose changes need a recent confirmation. The action comes back to `returnTo` (this page),
 * which then offers the change. Works without JavaScript (with a code).
 */
export function ConfirmIdentityForm({
  returnTo,
  twoFactor,
  passkey = false,
  reason,
  minutes,
  action = confirmIdentityAction,
}: {
  returnTo: string;
  twoFactor: boolean;
  /** The account has a passkey, and `action` takes one (the default action does). */
  passkey?: boolean;
  /** One sentence: what needs the confirmation. */
  reason: string;
  minutes: number;
  action?: ConfirmAction;
}) {
  const headingId = useId();
  const withPasskey = useRef(false);
  const assertionRef = useRef<HTMLInputElement>(null);
  const [passkeyError, setPasskeyError] = useState<string | null>(null);
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor, hydrated } = useActionForm<ConfirmIdentityFields>({
    check: checkConfirmIdentity,
    action,
    defaultValues: { password: "", code: "" },
    // "Confirm with a passkey": once the password is filled in, the passkey's assertion goes with it.
    prepare: async () => {
      const usePasskey = withPasskey.current;
      withPasskey.current = false;
      if (assertionRef.current) assertionRef.current.value = "";
      if (!usePasskey) return true;
      setPasskeyError(null);
      const begun = await beginConfirmPasskeyAction(returnTo);
      const asked = begun.ok ? await signWithPasskey(begun.options) : null;
      if (!begun.ok || !asked?.ok) {
        setPasskeyError(!begun.ok ? begun.message : asked && !asked.ok ? asked.message : null);
        return false;
      }
      if (assertionRef.current) assertionRef.current.value = JSON.stringify(asked.response);
      return true;
    },
  });
  return (
    <section className="stack" aria-labelledby={headingId} data-testid="confirm-identity">
      <h2 id={headingId}>Confirm it&apos;s you</h2>
      <p>
        {reason} Enter your password
        {passkey ? " and use your passkey (or a code)" : twoFactor ? " and a code from your authenticator app" : ""} to go on: someone who
        only has this browser (a stolen cookie, a computer left signed in) cannot. You will not be asked again for {minutes} minutes.
      </p>
      <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-labelledby={headingId}>
        <FormError state={state} alertRef={alertRef} />
        {passkeyError ? (
          <FormAlert tone="error">
            <p data-testid="passkey-error">{passkeyError}</p>
          </FormAlert>
        ) : null}
        <input type="hidden" name="returnTo" value={returnTo} />
        {passkey ? <input type="hidden" name="passkey" ref={assertionRef} defaultValue="" /> : null}
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
        {passkey && hydrated ? (
          <button
            type="button"
            className="secondary"
            disabled={busy}
            onClick={() => {
              withPasskey.current = true;
              formRef.current?.requestSubmit();
            }}
          >
            Confirm with a passkey
          </button>
        ) : null}
        {passkey && !hydrated ? (
          <p className="hint" data-testid="passkey-needs-javascript">
            Using a passkey needs JavaScript, which is off in this browser. Your password with an authentication or recovery code works
            without it.
          </p>
        ) : null}
      </form>
    </section>
  );
}
