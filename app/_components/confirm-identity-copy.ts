import type { ConfirmIdentityResult } from "@/lib/auth/confirm-identity";
import { describeWait } from "@/lib/rate-limit";
import type { FormState } from "./form-state";

/** The fields of the "Confirm it's you" form. */
export type ConfirmField = "password" | "code";

/** What the person is told for each refusal of "Confirm it's you" (the page and the admin area alike). */
export function confirmIdentityRefusal(result: Exclude<ConfirmIdentityResult, { ok: true }>): FormState<ConfirmField> {
  switch (result.code) {
    case "WRONG_PASSWORD":
      return { status: "error", fieldErrors: { password: ["That is not your password."] } };
    case "SECOND_FACTOR_REQUIRED":
      return {
        status: "error",
        fieldErrors: {
          code: [
            "Your account uses two-factor authentication: enter the code from your app, or one of your recovery codes (or use your passkey, if it has one).",
          ],
        },
      };
    case "INVALID_CODE":
      return {
        status: "error",
        fieldErrors: { code: ["That code is not right, or it was already used. Enter the code your app shows now."] },
      };
    case "RATE_LIMITED":
      return { status: "error", formError: `Too many tries. Try again in ${describeWait(result.retryAfterSeconds)}.` };
    case "SESSION_ENDED":
      return { status: "error", formError: "This session has ended (your password changed or you were signed out). Sign in again." };
  }
}

/** The refusal of a change posted without a recent "Confirm it's you" (a stale page or a forged post). */
export function confirmationNeededMessage(minutes: number): string {
  return `Confirm it's you first: this change needs your password (and code) entered within the last ${minutes} minutes. Reload the page to confirm.`;
}
