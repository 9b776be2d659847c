"use client";

import { PasskeyButton } from "@/app/_components/passkey-button";
import { beginPasskeySignInAction, finishPasskeySignInAction } from "./passkey-actions";

/** "Sign in with a passkey", and the passkeys the browser offers in the email field's autofill. */
export function PasskeySignIn({ callbackUrl }: { callbackUrl: string }) {
  return (
    <PasskeyButton
      label="Sign in with a passkey"
      autofill
      begin={beginPasskeySignInAction}
      finish={(response) => finishPasskeySignInAction(response, callbackUrl)}
      withoutJavaScript="Signing in with a passkey needs JavaScript, which is off in this browser. Your email and password (and your authentication or recovery code) work without it."
    />
  );
}
