"use client";

import { PasskeyButton } from "@/app/_components/passkey-button";
import type { PasskeyStepAnswer } from "@/app/_components/passkey-step";
import { finishPasskeySignInAction } from "./passkey-actions";

/** Asks ./passkey/route.ts for a challenge; its answer is JSON for every outcome it knows. */
async function beginPasskeySignIn(): Promise<PasskeyStepAnswer> {
  try {
    const answer = await fetch("/login/passkey", { method: "POST" });
    if (answer.ok || answer.status === 429) return (await answer.json()) as PasskeyStepAnswer;
  } catch {
    // Offline, or the server is unreachable: said below.
  }
  return { ok: false, message: "Rekey could not be reached to start a passkey sign-in. Try again in a moment." };
}

/** "Sign in with a passkey", and the passkeys the browser offers in the email field's autofill. */
export function PasskeySignIn({ callbackUrl }: { callbackUrl: string }) {
  return (
    <PasskeyButton
      label="Sign in with a passkey"
      autofill
      begin={beginPasskeySignIn}
      finish={(response) => finishPasskeySignInAction(response, callbackUrl)}
      withoutJavaScript="Signing in with a passkey needs JavaScript, which is off in this browser. Your email and password (and your authentication or recovery code) work without it."
    />
  );
}
