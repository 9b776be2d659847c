"use client";

import { useRouter } from "next/navigation";
import { useId, useRef, useState, type FormEvent } from "react";
import { createPasskey } from "@/app/_components/passkey-browser";
import { FormAlert } from "@/app/_components/fields";
import { useHydrated } from "@/app/_components/use-hydrated";
import { PasskeyNameSchema, PASSKEY_NAME_MAX } from "@/lib/validation/passkeys";
import { RecoveryCodes } from "../two-factor/recovery-codes";
import { beginAddPasskeyAction, finishAddPasskeyAction } from "./actions";

/** What the page says where the add form would be when JavaScript is off (or not loaded yet). */
export function PasskeysNeedJavaScript() {
  return (
    <p data-testid="passkeys-need-javascript">
      Adding a passkey needs JavaScript: your browser and your device (fingerprint, face or PIN) create it together. Turn JavaScript on to
      add one. Everything else works without it: your password, two-factor codes and recovery codes still sign you in, and you can rename or
      remove passkeys below.
    </p>
  );
}

/**
 * "Add a passkey": a name, then the device's own prompt. The server gives the options (bound to
 * this session, after checking "Confirm it's you" again) and checks the device's answer. The
 * first passkey of an account without recovery codes brings a set, shown here once.
 */
export function AddPasskey() {
  const hydrated = useHydrated();
  const router = useRouter();
  const inputId = useId();
  const alertRef = useRef<HTMLDivElement>(null);
  const [name, setName] = useState("");
  const [nameError, setNameError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ tone: "error" | "success"; message: string } | null>(null);
  const [codes, setCodes] = useState<{ codes: string[]; message: string } | null>(null);

  if (!hydrated) return <PasskeysNeedJavaScript />;
  if (codes) return <RecoveryCodes codes={codes.codes} message={codes.message} doneHref="/account/passkeys" factor="passkey" />;

  function report(tone: "error" | "success", message: string) {
    setOutcome({ tone, message });
    // After React drew it: the alert takes the focus so that screen readers read it.
    requestAnimationFrame(() => alertRef.current?.focus());
  }

  async function add(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const parsed = PasskeyNameSchema.safeParse(name);
    if (!parsed.success) {
      setNameError(parsed.error.issues[0]?.message ?? "Give the passkey a name.");
      return;
    }
    setNameError(null);
    setOutcome(null);
    setBusy(true);
    try {
      const begun = await beginAddPasskeyAction(parsed.data);
      if (!begun.ok) {
        if (begun.field === "name") setNameError(begun.message);
        else report("error", begun.message);
        return;
      }
      const created = await createPasskey(begun.options);
      if (!created.ok) {
        report("error", created.message);
        return;
      }
      const finished = await finishAddPasskeyAction({ name: parsed.data, response: created.response });
      if (!finished.ok) {
        report("error", finished.message);
        return;
      }
      if (finished.recoveryCodes) {
        setCodes({ codes: finished.recoveryCodes, message: finished.message });
        return;
      }
      setName("");
      report("success", finished.message);
      router.refresh();
    } finally {
      setBusy(false);
    }
  }

  const hintId = `${inputId}-hint`;
  const errorId = `${inputId}-error`;
  return (
    <form onSubmit={(event) => void add(event)} noValidate aria-label="Add a passkey">
      {outcome ? (
        <FormAlert tone={outcome.tone} alertRef={alertRef}>
          <p data-testid={`passkey-${outcome.tone}`}>{outcome.message}</p>
        </FormAlert>
      ) : null}
      <div className="field">
        <label htmlFor={inputId}>Passkey name</label>
        <div className="input-row">
          <input
            id={inputId}
            name="name"
            type="text"
            value={name}
            maxLength={PASSKEY_NAME_MAX + 20}
            autoComplete="off"
            required
            onChange={(event) => setName(event.target.value)}
            aria-invalid={nameError ? true : undefined}
            aria-describedby={[hintId, nameError ? errorId : null].filter(Boolean).join(" ")}
          />
        </div>
        <div id={hintId} className="hint">
          So you can tell your passkeys apart, e.g. “Work laptop” or “Phone”.
        </div>
        <div id={errorId} className="field-error" aria-live="polite">
          {nameError ? <p>{nameError}</p> : null}
        </div>
      </div>
      <button type="submit" className="primary" disabled={busy} aria-disabled={busy}>
        {busy ? "Waiting for your device…" : "Add a passkey"}
      </button>
    </form>
  );
}
