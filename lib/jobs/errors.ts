import "server-only";
import { log } from "../log";
import type { SendResult } from "../mail";

/** Work that may succeed later (timeout, 429, 5xx, network, database): the runner retries it. */
export class RetryableJobError extends Error {
  override name = "RetryableJobError";
  constructor(
    readonly reason: string,
    /** The wait the other side asked for (Retry-After), if any. */
    readonly retryAfterMs?: number,
    /** False when the work never started (a send slot was not free yet): no attempt is spent. */
    readonly countsAsAttempt = true,
  ) {
    super(reason);
  }
}

/** A definite refusal (a 4xx other than 429): trying again cannot help. */
export class PermanentJobError extends Error {
  override name = "PermanentJobError";
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * What every job that sends an email does when the send failed: unless it only waited for a
 * send slot, logs it as `event` with `fields` and runs `record` (its audit row, if it has one);
 * answers the error to throw, which the runner retries (transient) or gives up on (a refusal).
 */
export async function failedSend(
  sent: Extract<SendResult, { ok: false }>,
  event: string,
  fields: Record<string, string | number | null>,
  record?: () => Promise<void>,
): Promise<RetryableJobError | PermanentJobError> {
  if (!sent.paced) {
    log("error", event, { ...fields, reason: sent.reason });
    await record?.();
  }
  return sendFailure(sent);
}

/** The job error for a failed send: transient failures are retried, refusals are not. */
function sendFailure(sent: Extract<SendResult, { ok: false }>): RetryableJobError | PermanentJobError {
  if (!sent.transient) return new PermanentJobError(sent.reason);
  return new RetryableJobError(sent.reason, sent.retryAfterMs, !sent.paced);
}
