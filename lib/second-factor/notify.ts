import "server-only";
import { createElement } from "react";
import TwoFactorChangedEmail from "@/emails/two-factor-changed";
import { formatEmailTime } from "@/emails/layout";
import { z } from "zod";
import type { Database, Transaction } from "@/db/client";
import { requestContextShape, type RequestContext } from "../client-ip";
import { env } from "../env";
import { defineJob, type Schedule } from "../jobs/definition";
import { failedSend } from "../jobs/errors";
import { enqueueJob } from "../jobs/queue";
import { sendEmail } from "../mail";
import { describeUserAgent } from "../user-agent";

/** What a "two_factor.notify" job tells the user about. */
export const TWO_FACTOR_CHANGES = ["enabled", "disabled", "removed_by_admin", "recovery_code_used", "recovery_codes_replaced"] as const;
export type TwoFactorChange = (typeof TWO_FACTOR_CHANGES)[number];

const NOT_YOU = "If this wasn't you, someone may know your password: reset it now.";

/** The subject, summary and advice of each two-factor notice. */
export function twoFactorNotice(
  change: TwoFactorChange,
  recoveryCodesLeft: number | null,
): { subject: string; summary: string; advice: string } {
  switch (change) {
    case "enabled":
      return {
        subject: "Two-factor authentication was turned on",
        summary: "Two-factor authentication was turned on for your Rekey account.",
        advice:
          "From now on, signing in and resetting your password also ask for a code from your authenticator app. " +
          `Keep your recovery codes somewhere safe. ${NOT_YOU}`,
      };
    case "disabled":
      return {
        subject: "Two-factor authentication was turned off",
        summary: "Two-factor authentication was turned off for your Rekey account.",
        advice: `Signing in now needs only your password. ${NOT_YOU}`,
      };
    case "removed_by_admin":
      return {
        subject: "Two-factor authentication was turned off",
        summary: "An administrator turned off two-factor authentication for your Rekey account.",
        advice:
          "This is done when someone has lost both their authenticator and their recovery codes. " +
          "Signing in now needs only your password; you can turn two-factor authentication on again from your account. " +
          "If you did not ask for this, reset your password now and contact support.",
      };
    case "recovery_code_used": {
      const left = recoveryCodesLeft ?? 0;
      return {
        subject: `A recovery code was used (${left} left)`,
        summary: `One of your Rekey recovery codes was just used. ${left === 1 ? "1 code is" : `${left} codes are`} left.`,
        advice: `Each recovery code works once. When they run low, generate new ones from your account's two-factor page. ${NOT_YOU}`,
      };
    }
    case "recovery_codes_replaced":
      return {
        subject: "New recovery codes were made",
        summary: "New recovery codes were made for your Rekey account. Your old recovery codes no longer work.",
        advice:
          "Keep the new codes somewhere safe: each one signs you in once if you lose your authenticator. " +
          "If this wasn't you, someone is signed in to your account and knows your password: reset your password now " +
          "(that signs every browser out), then sign in and generate new recovery codes, so that the ones just made stop working.",
      };
  }
}

/** Sends a two-factor notice (the "two_factor.notify" job); a failed send is thrown for the runner to retry. */
export async function notifyTwoFactorChange(input: {
  userId: string;
  email: string;
  change: TwoFactorChange;
  recoveryCodesLeft: number | null;
  at: Date;
  ip: string | null;
  userAgent: string | null;
}): Promise<void> {
  const config = env();
  const notice = twoFactorNotice(input.change, input.recoveryCodesLeft);
  const sent = await sendEmail({
    to: input.email,
    subject: notice.subject,
    react: createElement(TwoFactorChangedEmail, {
      summary: notice.summary,
      advice: notice.advice,
      when: formatEmailTime(input.at),
      ip: input.ip ?? "unknown",
      browser: describeUserAgent(input.userAgent),
      twoFactorUrl: `${config.APP_URL}/account/two-factor`,
      forgotPasswordUrl: `${config.APP_URL}/forgot-password`,
    }),
    idempotencyKey: `two-factor/${input.change}/${input.userId}/${input.at.getTime()}`,
  });
  if (!sent.ok) throw await failedSend(sent, "two_factor.email_failed", { userId: input.userId, change: input.change });
}

/** The "two_factor.notify" job. */
export const twoFactorNoticeJob = defineJob({
  kind: "two_factor.notify",
  payload: z.object({
    userId: z.string(),
    email: z.string(),
    change: z.enum(TWO_FACTOR_CHANGES),
    recoveryCodesLeft: z.number().int().nullable(),
    at: z.string(),
    ...requestContextShape,
  }),
  run: (_db, payload) => notifyTwoFactorChange({ ...payload, at: new Date(payload.at) }),
});

/** Writes a two-factor notice as a durable job in `tx`, the transaction of the change it reports. */
export async function enqueueTwoFactorNotice(
  db: Database,
  tx: Transaction,
  schedule: Schedule,
  input: { userId: string; email: string; change: TwoFactorChange; recoveryCodesLeft?: number } & RequestContext,
): Promise<void> {
  await enqueueJob(
    db,
    twoFactorNoticeJob,
    {
      userId: input.userId,
      email: input.email,
      change: input.change,
      recoveryCodesLeft: input.recoveryCodesLeft ?? null,
      at: new Date().toISOString(),
      ip: input.ip,
      userAgent: input.userAgent,
    },
    schedule,
    tx,
  );
}
