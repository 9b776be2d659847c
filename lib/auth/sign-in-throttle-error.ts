import "server-only";
import { CredentialsSignin } from "next-auth";

// Apart from sign-in-throttle.ts so that the throttle stays free of Next.js imports (and
// testable in plain Node); this is only the binding to Auth.js.

const RATE_LIMITED_CODE = "rate_limited";

/** Thrown from authorize() when a sign-in limit is spent; Auth.js passes it on to signIn()'s caller. */
export class SignInRateLimited extends CredentialsSignin {
  override code = RATE_LIMITED_CODE;
}

const PASSWORD_RESET_FORCED_CODE = "password_reset_forced";

/** Thrown from authorize() when the old password of an account whose reset an admin forced was given. */
export class SignInPasswordResetForced extends CredentialsSignin {
  override code = PASSWORD_RESET_FORCED_CODE;
}

/** True for the error authorize() throws for SignInPasswordResetForced. */
export function isSignInPasswordResetForced(error: unknown): boolean {
  return error instanceof CredentialsSignin && error.code === PASSWORD_RESET_FORCED_CODE;
}

/** True for the error authorize() throws when sign-in is throttled. */
export function isSignInRateLimited(error: unknown): boolean {
  // By code, as Auth.js itself tells CredentialsSignin errors apart (the `code` URL parameter).
  return error instanceof CredentialsSignin && error.code === RATE_LIMITED_CODE;
}
