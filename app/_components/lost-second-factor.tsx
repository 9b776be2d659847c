/** For someone who has neither the authenticator nor a recovery code (under that question). */
const LOST_SECOND_FACTOR_QUESTION = "Lost your authenticator and your recovery codes?";
const LOST_SECOND_FACTOR_HELP =
  "Contact support. Neither your password nor a reset link alone can turn two-factor authentication off: that would let anyone who learns your password or reads your email take over your account. Once an administrator has checked that it is really you, they can remove two-factor authentication; you then sign in, or reset your password, without a code, and can turn it on again.";

/** What to do without the authenticator and the recovery codes: a question that opens its answer (no JavaScript needed). */
export function LostSecondFactorHelp() {
  return (
    <details className="hint">
      <summary>{LOST_SECOND_FACTOR_QUESTION}</summary>
      <p>{LOST_SECOND_FACTOR_HELP}</p>
    </details>
  );
}
