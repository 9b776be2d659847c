import { describeWait } from "@/lib/rate-limit";

/** What a person (or an API client) is told when a reset needs, or refused, a second factor. */
export const SECOND_FACTOR_COPY = {
  SECOND_FACTOR_REQUIRED:
    "This account uses two-factor authentication. Enter the 6-digit code from your authenticator app or one of your recovery codes, or use its passkey (on the reset page, with JavaScript).",
  INVALID_CODE: "That code is not right, or it was already used. Your link still works: try again with a new code.",
} as const;

/** The "too many wrong codes" message of every second-factor form (one budget per account). */
export function tooManyCodesMessage(retryAfterSeconds: number): string {
  return `Too many wrong codes for this account. Try again in ${describeWait(retryAfterSeconds)}.`;
}
