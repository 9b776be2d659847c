import "server-only";
import type { ReactElement } from "react";
import { Resend } from "resend";
import { getDb } from "@/lib/db";
import { env } from "../env";
import { log } from "../log";
import { observeEmailSend } from "../metrics";
import { traced } from "../tracing";
import { writeToOutbox } from "./outbox";
import { reserveSendSlotWithOthers } from "./pace";
import { renderTemplate } from "./templates";

export interface Email {
  to: string;
  subject: string;
  react: ReactElement;
  /** Resend drops a second message with the same key, so a retried send is not a second email. */
  idempotencyKey: string;
}

/** The HTML and plain-text renderings of an email template (filled into a cached render). */
export async function renderEmail(react: ReactElement): Promise<{ html: string; text: string }> {
  return renderTemplate(react);
}

export type SendResult =
  | { ok: true; id: string }
  | {
      ok: false;
      reason: string;
      /** Worth trying again: a timeout, a network error, a 5xx, a 429, or no send slot free yet. */
      transient: boolean;
      /** The wait the provider asked for (429 Retry-After), or until the next send slot. */
      retryAfterMs?: number;
      /** Not sent because the shared send rate was used up: the send never started. */
      paced?: boolean;
    };

/** Whether a provider status is worth retrying: none (network, timeout), 409 (same key in flight), 429, 5xx. */
function isTransientStatus(status: number | null | undefined): boolean {
  return status === null || status === undefined || status === 409 || status === 429 || status >= 500;
}

/** Retry-After in seconds or as an HTTP date, in milliseconds from now. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Renders `email` to HTML and plain text and sends it through the configured transport:
 * Resend when RESEND_API_KEY is set, otherwise the local outbox. Never throws: a failure is a
 * value, so callers decide what to record (and the user's answer never depends on it).
 */
async function sendEmailUntimed(email: Email): Promise<SendResult> {
  const config = env();
  try {
    const { html, text } = await renderEmail(email.react);
    const message = { to: email.to, from: config.EMAIL_FROM, subject: email.subject, html, text };

    if (config.mailTransport === "outbox") {
      const stored = await writeToOutbox(config.MAIL_OUTBOX_DIR, message);
      if (!config.isProduction) {
        // No address and no link in the log: the outbox holds those.
        console.log(`[mail] "${message.subject}" written to the outbox: open ${config.APP_URL}/dev/outbox to read it`);
      }
      return { ok: true, id: stored.id };
    }

    // The provider's rate is shared by every instance: wait for a slot of our own. A slot
    // further off than a claimed job's lease can cover is not taken: the job queues instead.
    const maxWaitMs = config.JOBS_LEASE_SECONDS * 1000 - config.MAIL_TIMEOUT_MS - 5_000;
    const slot = await reserveSendSlotWithOthers(await getDb(), { name: "mail", perSecond: config.MAIL_SENDS_PER_SECOND, maxWaitMs });
    if (!slot.ok) return { ok: false, reason: "paced", transient: true, retryAfterMs: slot.retryAfterMs, paced: true };
    if (slot.waitMs > 0) await new Promise((resolve) => setTimeout(resolve, slot.waitMs));

    const resend = new Resend(config.RESEND_API_KEY, { baseUrl: config.RESEND_BASE_URL });
    const { data, error, headers } = await resend.emails.send(message, {
      idempotencyKey: email.idempotencyKey,
      // A hung provider must not hold the job past its lease.
      signal: AbortSignal.timeout(config.MAIL_TIMEOUT_MS),
    });
    if (error || !data) {
      const status = error?.statusCode;
      return {
        ok: false,
        reason: error?.name ?? "no_response",
        transient: isTransientStatus(status),
        retryAfterMs: status === 429 ? parseRetryAfter(headers?.["retry-after"]) : undefined,
      };
    }
    return { ok: true, id: data.id };
  } catch (error) {
    log("error", "mail.send_threw", {}, error);
    return { ok: false, reason: error instanceof Error ? error.name : "unknown_error", transient: true };
  }
}

/** sendEmail as a span, its duration in the send latency histogram (lib/metrics.ts). */
export const sendEmail = traced("email.send", async (email: Email): Promise<SendResult> => {
  const started = performance.now();
  const result = await sendEmailUntimed(email);
  observeEmailSend(env().mailTransport, result.ok, (performance.now() - started) / 1000);
  return result;
});
