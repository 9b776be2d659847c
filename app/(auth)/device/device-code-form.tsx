"use client";

import { Field, FormError, SubmitButton } from "@/app/_components/fields";
import { useActionForm } from "@/app/_components/use-action-form";
import { checkDeviceCode } from "@/lib/validation/form-checks";
import type { DeviceCodeFields } from "@/lib/validation/device-code";
import { findDeviceCodeAction } from "./actions";

/** The user code from the tool. Pre-filled from verification_uri_complete; only a press of Continue looks it up. */
export function DeviceCodeForm({ code }: { code: string }) {
  const { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor, valueFor } = useActionForm<DeviceCodeFields>({
    check: checkDeviceCode,
    action: findDeviceCodeAction,
    defaultValues: { code },
  });
  return (
    <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate aria-label="Find the request the tool made">
      <FormError state={state} alertRef={alertRef} />
      <Field
        label="Code"
        hint="The 8 letters the tool shows, like BCDF-GHJK. Dashes, spaces and case do not matter."
        required
        type="text"
        autoComplete="off"
        autoCapitalize="characters"
        spellCheck={false}
        maxLength={64}
        {...form.register("code")}
        defaultValue={valueFor("code") ?? code}
        errors={errorsFor("code")}
      />
      <SubmitButton busy={busy} busyLabel="Checking…">
        Continue
      </SubmitButton>
    </form>
  );
}
