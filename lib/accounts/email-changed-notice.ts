import "server-only";
import { createElement } from "react";
import { z } from "zod";
import type { Database } from "@/db/client";
import { emailChangeUndoTokens } from "@/db/schema";
import EmailChangedEmail, { emailChangedSubject } from "@/emails/email-changed";
import { formatEmailTime } from "@/emails/layout";
import { requestContextShape, type RequestContext } from "../client-ip";
import { env } from "../env";
import { failedSend } from "../jobs/errors";
import { defineJob } from "../jobs/definition";
import { RUN_ONCE, type JobSteps } from "../jobs/steps";
import { sendEmail } from "../mail";
import { generateToken } from "../tokens";
import { describeUserAgent } from "../user-agent";
import { maskEmail } from "../validation/fields";

/** How long the undo link sent to the old address works. */
export const EMAIL_CHANGE_UNDO_TTL_DAYS = 7;

/**
 * Sends the old address "your address was changed" with a one-time undo link (the
 * "email_change.notify" job). The link is made once per job (a retry sends the same one) and
 * kept sealed between attempts.
 */
export async function notifyEmailChanged(
  db: Database,
  input: { userId: string; oldEmail: string; newEmail: string; changedAt: Date } & RequestContext,
  steps: JobSteps = RUN_ONCE,
): Promise<void> {
  const { token } = await steps.once(
    "undo-link",
    async () => {
      const { token, hash } = generateToken();
      await db.insert(emailChangeUndoTokens).values({
        userId: input.userId,
        tokenHash: hash,
        oldEmail: input.oldEmail,
        newEmail: input.newEmail,
        expiresAt: new Date(Date.now() + EMAIL_CHANGE_UNDO_TTL_DAYS * 24 * 60 * 60 * 1000),
      });
      return { token };
    },
    ["token"],
  );
  const config = env();
  const sent = await sendEmail({
    to: input.oldEmail,
    subject: emailChangedSubject,
    react: createElement(EmailChangedEmail, {
      changedAt: formatEmailTime(input.changedAt),
      newEmail: maskEmail(input.newEmail),
      ip: input.ip ?? "unknown",
      browser: describeUserAgent(input.userAgent),
      forgotPasswordUrl: `${config.APP_URL}/forgot-password`,
      undoUrl: `${config.APP_URL}/email-change/undo/${token}`,
    }),
    idempotencyKey: `email-changed/${input.userId}/${input.changedAt.getTime()}`,
  });
  if (!sent.ok) throw await failedSend(sent, "email_change.notice_failed", { userId: input.userId });
}

/** The "email_change.notify" job: the old address's notice of a confirmed change, with its undo link. */
export const emailChangedNoticeJob = defineJob({
  kind: "email_change.notify",
  payload: z.object({ userId: z.string(), oldEmail: z.string(), newEmail: z.string(), changedAt: z.string(), ...requestContextShape }),
  run: (db, payload, steps) => notifyEmailChanged(db, { ...payload, changedAt: new Date(payload.changedAt) }, steps),
});
