"use client";

import { useActionState, type ReactNode } from "react";
import { Field, FormError, SubmitButton } from "@/app/_components/fields";
import type { FormState } from "@/app/_components/form-state";
import { useActionForm } from "@/app/_components/use-action-form";
import { checkEnableTwoFactor } from "@/lib/validation/form-checks";
import type { EnableTwoFactorInput } from "@/lib/validation/forms";
import { disableTwoFactorAction, enableTwoFactorAction, newRecoveryCodesAction } from "./actions";
import { RecoveryCodes } from "./recovery-codes";
import styles from "./two-factor.module.css";

const CODE_HINT = "The 6-digit code your app shows now.";

/** The "Authentication code" input: digits only, filled by password managers that know TOTP. */
function codeInputProps() {
  return { type: "text", inputMode: "numeric", autoComplete: "one-time-code", maxLength: 12, spellCheck: false } as const;
}

/**
 * The enrolment steps (QR code, "Setup key", the confirming code) while two-factor is off, and
 * the recovery codes once the code was right. The page renders this component at the same
 * place whether two-factor is on or off: without JavaScript the answer to the confirming post
 * is the page drawn again, now in its "on" state, and React hands the action's result (the
 * codes) to this same component only if it sits where the form was.
 */
export function TwoFactorFlow({ offer, children }: { offer: { qr: string; setupKey: string } | null; children?: ReactNode }) {
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor } = useActionForm<EnableTwoFactorInput>({
    check: checkEnableTwoFactor,
    action: enableTwoFactorAction,
    defaultValues: { code: "" },
  });
  if (state.status === "success" && state.recoveryCodes) return <RecoveryCodes codes={state.recoveryCodes} message={state.message} />;
  if (!offer) return <>{children}</>;
  return (
    <>
      {children}
      <ol className={styles.steps}>
        <li>
          <p>Scan this QR code with an authenticator app (Google Authenticator, Microsoft Authenticator, 1Password, Aegis…).</p>
          {/* eslint-disable-next-line @next/next/no-img-element -- a data: URL drawn on the server, nothing to optimise */}
          <img
            className={styles.qr}
            src={offer.qr}
            width={192}
            height={192}
            alt="QR code that adds your Rekey account to an authenticator app"
          />
        </li>
        <li>
          <p>Can&apos;t scan it? Choose to enter a key by hand in your app, and type this one (time-based):</p>
          <p id="setup-key-label">Setup key</p>
          <code className={styles.key} aria-labelledby="setup-key-label" data-testid="setup-key">
            {offer.setupKey}
          </code>
        </li>
        <li>
          <p>Enter the 6-digit code your app now shows for Rekey.</p>
          <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Turn on two-factor authentication">
            <FormError state={state} alertRef={alertRef} />
            <Field
              label="Authentication code"
              hint={CODE_HINT}
              required
              {...codeInputProps()}
              {...form.register("code")}
              errors={errorsFor("code")}
            />
            <SubmitButton busy={busy} busyLabel="Checking…">
              Turn on two-factor authentication
            </SubmitButton>
          </form>
        </li>
      </ol>
    </>
  );
}

/** "Generate new recovery codes": one button; the answer shows the new codes once. */
export function NewRecoveryCodesForm() {
  const [state, formAction, pending] = useActionState<FormState, FormData>(newRecoveryCodesAction, { status: "idle" });
  if (state.status === "success" && state.recoveryCodes) return <RecoveryCodes codes={state.recoveryCodes} message={state.message} />;
  return (
    <form action={formAction} aria-label="Generate new recovery codes">
      <ButtonFormError state={state} />
      <p>Making new codes stops every old one from working, used or not.</p>
      <div>
        <button type="submit" className="secondary" disabled={pending} aria-disabled={pending}>
          {pending ? "Generating…" : "Generate new recovery codes"}
        </button>
      </div>
    </form>
  );
}

/** The error of a one-button form's answer, if any. */
function ButtonFormError({ state }: { state: FormState }) {
  if (state.status !== "error" || !state.formError) return null;
  return (
    <div className="alert alert-error" role="alert">
      <p>{state.formError}</p>
    </div>
  );
}

/** Turning it off: one button, for a session that confirmed it's the owner ("Confirm it's you"). */
export function DisableTwoFactorForm() {
  const [state, formAction, pending] = useActionState<FormState, FormData>(disableTwoFactorAction, { status: "idle" });
  return (
    <form action={formAction} aria-label="Turn off two-factor authentication">
      <ButtonFormError state={state} />
      <div>
        <button type="submit" className="danger" disabled={pending} aria-disabled={pending}>
          {pending ? "Turning off…" : "Turn off two-factor authentication"}
        </button>
      </div>
    </form>
  );
}
