import "server-only";
import type { Database } from "@/db/client";
import { auditThrottled } from "../audit";
import { clientKey, type RequestContext } from "../client-ip";
import { env } from "../env";
import type { Schedule } from "../jobs/definition";
import { enqueueJobWithinLimit } from "../jobs/queue";
import type { RateLimit } from "../rate-limit";
import { traced } from "../tracing";
import { resetRequestJob } from "./jobs";

const ipLimit = (): RateLimit => ({ name: "reset-ip", max: env().RESET_REQUESTS_PER_IP_PER_HOUR, windowSeconds: 60 * 60 });

export type RequestPasswordResetResult =
  { ok: true; expiresInMinutes: number } | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

/**
 * Accepts a reset request for a well-formed email. The answer depends only on the caller's IP
 * budget: everything that depends on whether the account exists (per-email limit, look-up,
 * token, email) is a job (lib/recovery/jobs.ts), persisted here and run after the response.
 */
async function requestPasswordResetUntraced(
  db: Database,
  input: { email: string } & RequestContext,
  schedule: Schedule,
): Promise<RequestPasswordResetResult> {
  // The IP's hit and the job row in one statement: the same one write for every address; the
  // job decides what the address is.
  const payload = { email: input.email, ip: input.ip, userAgent: input.userAgent };
  const limited = await enqueueJobWithinLimit(db, resetRequestJob, payload, schedule, ipLimit(), clientKey(input.ip));
  if (!limited.allowed) {
    await auditThrottled(
      db,
      { event: "password_reset.throttled", ip: input.ip, userAgent: input.userAgent, details: { limit: "ip" } },
      limited.refusedInWindow,
    );
    return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: limited.retryAfterSeconds };
  }
  return { ok: true, expiresInMinutes: env().RESET_TOKEN_TTL_MINUTES };
}

// Each step of the reset flow is a span when tracing is on (instrumentation.ts).
export const requestPasswordReset = traced("password_reset.request", requestPasswordResetUntraced);
