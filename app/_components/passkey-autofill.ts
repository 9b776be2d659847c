"use client";

import {
  browserSupportsWebAuthnAutofill,
  startAuthentication,
  WebAuthnAbortService,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/browser";

// The passkey autofill of the sign-in page (conditional mediation): the request waits, without a
// prompt, until the person picks a passkey in the suggestions of the field marked
// `autocomplete="… webauthn"`. Any other passkey request (the button) cancels it; so does leaving.
// Explicit requests go through passkey-browser.ts.

/** Whether this browser can offer passkeys in a field's autofill suggestions. */
export function passkeyAutofillAvailable(): Promise<boolean> {
  return browserSupportsWebAuthnAutofill().catch(() => false);
}

/** Waits for a passkey picked in the autofill suggestions; null when cancelled or refused (nothing to say: nobody asked). */
export async function passkeyFromAutofill(optionsJSON: PublicKeyCredentialRequestOptionsJSON): Promise<AuthenticationResponseJSON | null> {
  try {
    return await startAuthentication({ optionsJSON, useBrowserAutofill: true });
  } catch {
    return null;
  }
}

/** Cancels a waiting autofill request (the page is leaving). */
export function cancelPasskeyAutofill(): void {
  WebAuthnAbortService.cancelCeremony();
}
