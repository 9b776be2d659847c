import "server-only";
import { render } from "@react-email/render";
import type { ReactElement } from "react";
import { Resend } from "resend";
import { env } from "../env";
import { log } from "../log";
import { writeToOutbox } from "./outbox";

export interface Email {
  to: string;
  subject: string;
  react: ReactElement;
  /** Resend drops a second message with the same key, so a retried send is not a second email. */
  idempotencyKey: string;
}

/** The HTML and plain-text renderings of an email template. */
export async function renderEmail(react: ReactElement): Promise<{ html: string; text: string }> {
  const [html, text] = await Promise.all([render(react), render(react, { plainText: true })]);
  return { html, text };
}

export type SendResult = { ok: true; id: string } | { ok: false; reason: string };

/**
 * Renders `email` to HTML and plain text and sends it through the configured transport:
 * Resend when RESEND_API_KEY is set, otherwise the local outbox. Never throws: a failure is a
 * value, so callers decide what to record (and the user's answer never depends on it).
 */
export async function sendEmail(email: Email): Promise<SendResult> {
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

    const resend = new Resend(config.RESEND_API_KEY, { baseUrl: config.RESEND_BASE_URL });
    const { data, error } = await resend.emails.send(message, {
      idempotencyKey: email.idempotencyKey,
      // A hung provider must not hold the request's after() work forever.
      signal: AbortSignal.timeout(config.MAIL_TIMEOUT_MS),
    });
    if (error || !data) return { ok: false, reason: error?.name ?? "no_response" };
    return { ok: true, id: data.id };
  } catch (error) {
    log("error", "mail.send_threw", {}, error);
    return { ok: false, reason: error instanceof Error ? error.name : "unknown_error" };
  }
}
