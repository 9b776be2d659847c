"use client";

import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/browser";
import { cancelPasskeyAutofill } from "./passkey-autofill";

// The browser's half of every passkey ceremony: one place that turns what the WebAuthn API
// throws into a sentence a person can act on. The server's options go in, its JSON comes out.
// @simplewebauthn/browser is loaded when a person asks for a passkey, not with the page: every
// page that offers one would otherwise fetch it on each visit (npm run bench, "fetched without a
// user action").
const webauthn = () => import("@simplewebauthn/browser");

export type PasskeyBrowserResult<T> = { ok: true; response: T } | { ok: false; message: string; cancelled: boolean };

export const PASSKEYS_UNSUPPORTED = "This browser cannot use passkeys. Use your password (and your code, if you have two-factor) instead.";
const CANCELLED = "The passkey request was cancelled or timed out. Try again when you are ready.";

/** True when this browser has WebAuthn at all (what @simplewebauthn/browser's browserSupportsWebAuthn checks). */
export function passkeysSupported(): boolean {
  return typeof window !== "undefined" && window.PublicKeyCredential !== undefined && typeof window.PublicKeyCredential === "function";
}

function failure(
  error: unknown,
  action: "create" | "use",
  WebAuthnError: (typeof import("@simplewebauthn/browser"))["WebAuthnError"],
): { ok: false; message: string; cancelled: boolean } {
  if (!passkeysSupported()) return { ok: false, message: PASSKEYS_UNSUPPORTED, cancelled: false };
  const name = error instanceof WebAuthnError ? error.code : error instanceof Error ? error.name : "";
  if (name === "ERROR_CEREMONY_ABORTED" || (error instanceof Error && error.name === "NotAllowedError")) {
    return { ok: false, message: CANCELLED, cancelled: true };
  }
  if (name === "ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED") {
    return { ok: false, message: "This device already holds a passkey for your account.", cancelled: false };
  }
  if (
    name === "ERROR_AUTHENTICATOR_MISSING_USER_VERIFICATION_SUPPORT" ||
    name === "ERROR_AUTHENTICATOR_MISSING_DISCOVERABLE_CREDENTIAL_SUPPORT"
  ) {
    return {
      ok: false,
      message: "This device cannot keep a passkey that checks it's you (fingerprint, face or PIN). Try another device.",
      cancelled: false,
    };
  }
  if (name === "ERROR_INVALID_DOMAIN" || name === "ERROR_INVALID_RP_ID") {
    return {
      ok: false,
      message: "Passkeys work only at this site's own address. Open it from its usual link and try again.",
      cancelled: false,
    };
  }
  return {
    ok: false,
    message:
      action === "create"
        ? "Your device could not create a passkey. Try again, or use another device."
        : "Your device could not use a passkey. Try again, or sign in another way.",
    cancelled: false,
  };
}

/** Asks the device to create a passkey for `options`; a refusal or a cancel comes back as a message. */
export async function createPasskey(
  options: PublicKeyCredentialCreationOptionsJSON,
): Promise<PasskeyBrowserResult<RegistrationResponseJSON>> {
  if (!passkeysSupported()) return { ok: false, message: PASSKEYS_UNSUPPORTED, cancelled: false };
  const { startRegistration, WebAuthnError } = await webauthn();
  try {
    return { ok: true, response: await startRegistration({ optionsJSON: options }) };
  } catch (error) {
    return failure(error, "create", WebAuthnError);
  }
}

/** Asks the device to sign `options`' challenge with a passkey; a refusal or a cancel comes back as a message. */
export async function signWithPasskey(
  options: PublicKeyCredentialRequestOptionsJSON,
): Promise<PasskeyBrowserResult<AuthenticationResponseJSON>> {
  if (!passkeysSupported()) return { ok: false, message: PASSKEYS_UNSUPPORTED, cancelled: false };
  const { startAuthentication, WebAuthnError } = await webauthn();
  // A browser holds one credential request at a time: the page's waiting autofill gives way.
  cancelPasskeyAutofill();
  try {
    return { ok: true, response: await startAuthentication({ optionsJSON: options }) };
  } catch (error) {
    return failure(error, "use", WebAuthnError);
  }
}
