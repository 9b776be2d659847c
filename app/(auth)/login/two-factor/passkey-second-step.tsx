"use client";

import { PasskeyButton } from "@/app/_components/passkey-button";
import { beginPasskeySecondStepAction, passkeySecondStepAction } from "./actions";

/** "Use a passkey" at the second step, instead of a code. */
export function PasskeySecondStep({ callbackUrl }: { callbackUrl: string }) {
  return (
    <PasskeyButton
      label="Use a passkey"
      begin={beginPasskeySecondStepAction}
      finish={(response) => passkeySecondStepAction(response, callbackUrl)}
      withoutJavaScript="Using a passkey needs JavaScript, which is off in this browser. An authentication code or a recovery code works without it."
    />
  );
}
