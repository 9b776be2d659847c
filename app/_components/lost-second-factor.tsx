import { LOST_SECOND_FACTOR_HELP, LOST_SECOND_FACTOR_QUESTION } from "./second-factor-copy";

/** What to do without the authenticator and the recovery codes: a question that opens its answer (no JavaScript needed). */
export function LostSecondFactorHelp() {
  return (
    <details className="hint">
      <summary>{LOST_SECOND_FACTOR_QUESTION}</summary>
      <p>{LOST_SECOND_FACTOR_HELP}</p>
    </details>
  );
}
