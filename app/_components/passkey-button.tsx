"use client";

import { useEffect, useRef, useState, useTransition, type ReactNode } from "react";
import type { AuthenticationResponseJSON } from "@simplewebauthn/browser";
import { FormAlert } from "./fields";
import { cancelPasskeyAutofill, passkeyAutofillAvailable, passkeyFromAutofill } from "./passkey-autofill";
import { signWithPasskey } from "./passkey-browser";
import type { PasskeyStepAnswer } from "./passkey-step";
import { useHydrated } from "./use-hydrated";

/**
 * A "use a passkey" button: asks the server for a challenge (`begin`), the browser for the
 * passkey's assertion, and hands it to `finish`, which redirects when it worked and otherwise
 * says why. With `autofill`, the page also offers the browser's passkey autofill on the field
 * marked `autocomplete="username webauthn"` (conditional mediation). Without JavaScript a
 * passkey cannot be used: `withoutJavaScript` says so, and what works instead.
 */
export function PasskeyButton({
  label,
  begin,
  finish,
  autofill = false,
  withoutJavaScript,
}: {
  label: string;
  begin: () => Promise<PasskeyStepAnswer>;
  finish: (response: AuthenticationResponseJSON) => Promise<{ ok: false; message: string } | void>;
  autofill?: boolean;
  withoutJavaScript: ReactNode;
}) {
  const hydrated = useHydrated();
  const [error, setError] = useState<string | null>(null);
  const [finishing, startTransition] = useTransition();
  const [waiting, setWaiting] = useState(false);
  const busy = finishing || waiting;
  const alertRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (error) alertRef.current?.focus();
  }, [error]);

  // Explicit (the button): every failure is said. Autofill: it waits silently until the person
  // picks a passkey in the field's suggestions, and is cancelled by the button's own request.
  async function run(explicit: boolean): Promise<void> {
    if (explicit) {
      setError(null);
      setWaiting(true);
    }
    try {
      const begun = await begin();
      if (!begun.ok) {
        if (explicit) setError(begun.message);
        return;
      }
      let response: AuthenticationResponseJSON | null;
      if (explicit) {
        const signed = await signWithPasskey(begun.options);
        if (!signed.ok) {
          setError(signed.message);
          return;
        }
        response = signed.response;
      } else {
        response = await passkeyFromAutofill(begun.options);
        if (!response) return;
      }
      const assertion = response;
      // In a transition: a redirect from the action navigates.
      startTransition(async () => {
        const answer = await finish(assertion);
        if (answer && !answer.ok) setError(answer.message);
      });
    } finally {
      if (explicit) setWaiting(false);
    }
  }

  useEffect(() => {
    if (!autofill) return;
    let live = true;
    void passkeyAutofillAvailable().then((available) => {
      if (available && live) void run(false);
    });
    return () => {
      live = false;
      cancelPasskeyAutofill();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once per mount
  }, [autofill]);

  if (!hydrated) {
    return (
      <p className="hint" data-testid="passkey-needs-javascript">
        {withoutJavaScript}
      </p>
    );
  }
  return (
    <div className="stack">
      {error ? (
        <FormAlert tone="error" alertRef={alertRef}>
          <p data-testid="passkey-error">{error}</p>
        </FormAlert>
      ) : null}
      <button type="button" className="secondary" onClick={() => void run(true)} disabled={busy} aria-disabled={busy}>
        {busy ? "Waiting for your passkey…" : label}
      </button>
    </div>
  );
}
