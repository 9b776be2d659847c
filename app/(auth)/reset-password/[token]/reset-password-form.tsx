"use client";

import Link from "next/link";
import { useRef, useState } from "react";
import { Field, FormAlert, FormError, NewPasswordFields, SubmitButton } from "@/app/_components/fields";
import { signWithPasskey } from "@/app/_components/passkey-browser";
import { LostSecondFactorHelp } from "@/app/_components/lost-second-factor";
import { useActionForm } from "@/app/_components/use-action-form";
import { checkResetPassword } from "@/lib/validation/form-checks";
import type { ResetPasswordInput } from "@/lib/validation/forms";
import { beginPasskeyResetAction, resetPasswordAction } from "./actions";

/** Which second factor the form asks for: none, the authenticator's code, a recovery code, or a passkey. */
export type SecondFactorMethod = "totp" | "recovery" | "passkey" | null;

/** The other second factors the account has, offered as links (plain links: they work without JavaScript). */
export interface OtherMethods {
  totp: boolean;
  passkey: boolean;
}

export function ResetPasswordForm({
  token,
  secondFactor,
  others,
}: {
  token: string;
  secondFactor: SecondFactorMethod;
  others: OtherMethods;
}) {
  const [passkeyError, setPasskeyError] = useState<string | null>(null);
  const passkeyRef = useRef<HTMLInputElement>(null);
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor, hydrated } = useActionForm<ResetPasswordInput>({
    check: checkResetPassword,
    action: resetPasswordAction,
    defaultValues: { token, password: "", confirmPassword: "", secondFactor: secondFactor ?? undefined, otp: "", recoveryCode: "" },
    // With a passkey: once the new password is valid, the passkey's assertion goes with it.
    prepare:
      secondFactor === "passkey"
        ? async () => {
            setPasskeyError(null);
            const begun = await beginPasskeyResetAction(token);
            const asked = begun.ok ? await signWithPasskey(begun.options) : null;
            if (!begun.ok || !asked?.ok) {
              setPasskeyError(!begun.ok ? begun.message : asked && !asked.ok ? asked.message : null);
              return false;
            }
            if (passkeyRef.current) passkeyRef.current.value = JSON.stringify(asked.response);
            return true;
          }
        : undefined,
  });
  const link = (method: "totp" | "recovery" | "passkey") => `/reset-password/${token}?method=${method}`;
  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Choose a new password">
      <FormError state={state} alertRef={alertRef}>
        <p>
          <Link href="/forgot-password">Request a new link</Link>
        </p>
      </FormError>
      {passkeyError ? (
        <FormAlert tone="error">
          <p data-testid="passkey-error">{passkeyError}</p>
        </FormAlert>
      ) : null}
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
      {secondFactor === "passkey" ? <input type="hidden" name="passkey" ref={passkeyRef} defaultValue="" /> : null}
      {secondFactor === "passkey" && !hydrated ? (
        <p className="hint" data-testid="passkey-needs-javascript">
          Using a passkey needs JavaScript, which is off in this browser. A recovery code
          {others.totp ? " or an authentication code" : ""} works without it.
        </p>
      ) : null}
      {secondFactor ? (
        <p className="hint links">
          {secondFactor !== "passkey" && others.passkey ? <Link href={link("passkey")}>Use a passkey</Link> : null}
          {secondFactor !== "totp" && others.totp ? <Link href={link("totp")}>Use your authenticator app</Link> : null}
          {secondFactor !== "recovery" ? <Link href={link("recovery")}>Use a recovery code</Link> : null}
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
      <NewPasswordFields
        labels={{ password: "New password", confirm: "Confirm new password" }}
        password={{ ...form.register("password"), errors: errorsFor("password"), value: form.watch("password") ?? "" }}
        confirm={{ ...form.register("confirmPassword"), errors: errorsFor("confirmPassword") }}
      />
      <SubmitButton busy={busy} busyLabel={secondFactor === "passkey" ? "Waiting for your passkey…" : "Saving…"}>
        {secondFactor === "passkey" ? "Use your passkey and set new password" : "Set new password"}
      </SubmitButton>
      {secondFactor ? <LostSecondFactorHelp /> : null}
    </form>
  );
}
