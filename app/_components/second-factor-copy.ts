import { describeWait } from "@/lib/rate-limit";

/** What a person (or an API client) is told when a reset needs, or refused, a second factor. */
export const SECOND_FACTOR_COPY = {
  SECOND_FACTOR_REQUIRED: "This account uses two-factor authentication. Enter the 6-digit code from your authenticator app, or one of your recovery codes.",
  INVALID_CODE: "That code is not right, or it was already used. Your link still works: try again with a new code.",
} as const;

/** The "too many wrong codes" message of every second-factor form (one budget per account). */
export function tooManyCodesMessage(retryAfterSeconds: number): string {
  return `Too many wrong codes for this account. Try again in ${describeWait(retryAfterSeconds)}.`;
}

/** For someone who has neither the authenticator nor a recovery code (under that question). */
export const LOST_SECOND_FACTOR_QUESTION = "Lost your authenticator and your recovery codes?";
export const LOST_SECOND_FACTOR_HELP =
  "Contact support. Neither your password nor a reset link alone can turn two-factor authentication off: that would let anyone who learns your password or reads your email take over your account. Once an administrator has checked that it is really you, they can remove two-factor authentication; you then sign in, or reset your password, without a code, and can turn it on again.";
