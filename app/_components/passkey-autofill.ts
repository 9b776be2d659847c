"use client";

import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/browser";

// The passkey autofill of the sign-in page (conditional mediation): the request waits, without a
// prompt, until the person picks a passkey in the suggestions of the field marked
// `autocomplete="… webauthn"`. Any other passkey request (the button) cancels it; so does leaving.
// Explicit requests go through passkey-browser.ts.
//
// It starts with the page, so it must not cost the page @simplewebauthn/browser: where the
// browser converts WebAuthn's JSON itself (PublicKeyCredential.parseRequestOptionsFromJSON and
// the credential's toJSON(), in every current engine) it is used directly, and the library is
// loaded only for a browser without them.

interface JsonWebAuthn {
  parseRequestOptionsFromJSON?: (options: PublicKeyCredentialRequestOptionsJSON) => PublicKeyCredentialRequestOptions;
  isConditionalMediationAvailable?: () => Promise<boolean>;
}

const publicKeyCredential = (): JsonWebAuthn | undefined =>
  typeof window === "undefined" ? undefined : (window.PublicKeyCredential as unknown as JsonWebAuthn | undefined);

let waiting: AbortController | null = null;
let libraryLoaded = false;

/** Whether this browser can offer passkeys in a field's autofill suggestions. */
export async function passkeyAutofillAvailable(): Promise<boolean> {
  try {
    return (await publicKeyCredential()?.isConditionalMediationAvailable?.()) === true;
  } catch {
    return false;
  }
}

/** Waits for a passkey picked in the autofill suggestions; null when cancelled or refused (nothing to say: nobody asked). */
export async function passkeyFromAutofill(optionsJSON: PublicKeyCredentialRequestOptionsJSON): Promise<AuthenticationResponseJSON | null> {
  const parse = publicKeyCredential()?.parseRequestOptionsFromJSON;
  try {
    if (!parse) {
      const { startAuthentication } = await import("@simplewebauthn/browser");
      libraryLoaded = true;
      return await startAuthentication({ optionsJSON, useBrowserAutofill: true });
    }
    cancelPasskeyAutofill();
    waiting = new AbortController();
    const publicKey = parse.call(window.PublicKeyCredential, { ...optionsJSON, allowCredentials: [] });
    const credential = (await navigator.credentials.get({ mediation: "conditional", publicKey, signal: waiting.signal })) as
      (Credential & { toJSON(): unknown }) | null;
    return credential ? (credential.toJSON() as AuthenticationResponseJSON) : null;
  } catch {
    return null;
  }
}

/** Cancels a waiting autofill request (the page is leaving, or the button asks for a passkey). */
export function cancelPasskeyAutofill(): void {
  waiting?.abort();
  waiting = null;
  if (libraryLoaded) void import("@simplewebauthn/browser").then(({ WebAuthnAbortService }) => WebAuthnAbortService.cancelCeremony());
}
