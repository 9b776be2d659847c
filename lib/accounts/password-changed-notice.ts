import "server-only";
import { createElement } from "react";
import type { Database } from "@/db/client";
import { passwordChangeReportTokens } from "@/db/schema";
import PasswordChangedEmail, { passwordChangedSubject } from "@/emails/password-changed";
import { formatEmailTime } from "@/emails/layout";
import { env } from "../env";
import { sendFailure } from "../jobs/errors";
import { RUN_ONCE, type JobSteps } from "../jobs/queue";
import { log } from "../log";
import { sendEmail } from "../mail";
import { generateToken } from "../tokens";
import { describeUserAgent } from "../user-agent";

/** How long the "This wasn't me" link in a password-changed email works. */
export const REPORT_LINK_TTL_DAYS = 7;

/**
 * Sends "your password was changed" (time, IP, browser) with a one-time "This wasn't me" link
 * (the "password_changed.notify" job). The link is made once per job and kept sealed between
 * attempts; a failed send is logged and thrown for the runner to retry or abandon.
 */
export async function notifyPasswordChanged(
  db: Database,
  input: { userId: string; email: string; changedAt: Date; ip: string | null; userAgent: string | null },
  steps: JobSteps = RUN_ONCE,
): Promise<void> {
  const config = env();
  const { token } = await steps.once(
    "report-link",
    async () => {
      const { token, hash } = generateToken();
      await db.insert(passwordChangeReportTokens).values({
        userId: input.userId,
        tokenHash: hash,
        expiresAt: new Date(Date.now() + REPORT_LINK_TTL_DAYS * 24 * 60 * 60 * 1000),
      });
      return { token };
    },
    ["token"],
  );
  const sent = await sendEmail({
    to: input.email,
    subject: passwordChangedSubject,
    react: createElement(PasswordChangedEmail, {
      changedAt: formatEmailTime(input.changedAt),
      ip: input.ip ?? "unknown",
      browser: describeUserAgent(input.userAgent),
      forgotPasswordUrl: `${config.APP_URL}/forgot-password`,
      reportUrl: `${config.APP_URL}/wasnt-me/${token}`,
    }),
    idempotencyKey: `password-changed/${input.userId}/${input.changedAt.getTime()}`,
  });
  if (sent.ok) return;
  if (!sent.paced) log("error", "password_changed.email_failed", { userId: input.userId, reason: sent.reason });
  throw sendFailure(sent);
}
