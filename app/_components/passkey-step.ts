import type { PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/browser";

/** A server action's answer to "begin a passkey request": the options for the browser, or why not. */
export type PasskeyStepAnswer = { ok: true; options: PublicKeyCredentialRequestOptionsJSON } | { ok: false; message: string };
