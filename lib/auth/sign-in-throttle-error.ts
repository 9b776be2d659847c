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

const SECOND_FACTOR_REQUIRED_CODE = "second_factor_required";

/**
 * Thrown from authorize() when the password was right for an account with a second factor:
 * no session is stored. signIn() in a server action re-throws this very object, so the login
 * action takes the pending step's token from it for this browser's cookie. On Auth.js's own
 * callback URL it ends as a redirect to /login with only the code, and the token is lost.
 */
export class SignInSecondFactorRequired extends CredentialsSignin {
  override code = SECOND_FACTOR_REQUIRED_CODE;
  // A private field: no logger, inspect() or JSON.stringify() ever prints the raw token.
  readonly #challengeToken: string;

  constructor(challengeToken: string) {
    super();
    this.#challengeToken = challengeToken;
  }

  /** The raw token of the pending second step (for the cookie only). */
  challengeToken(): string {
    return this.#challengeToken;
  }
}

/** The pending second step's raw token when `error` says the password step needs a second factor; else null. */
export function secondFactorChallengeOf(error: unknown): string | null {
  return error instanceof SignInSecondFactorRequired ? error.challengeToken() : null;
}
