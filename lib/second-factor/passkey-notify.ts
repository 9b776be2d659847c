import "server-only";
import { createElement } from "react";
import { z } from "zod";
import type { Database, Transaction } from "@/db/client";
import { formatEmailTime } from "@/emails/layout";
import PasskeyChangedEmail from "@/emails/passkey-changed";
import { reportLink } from "../accounts/password-changed-notice";
import { requestContextShape, type RequestContext } from "../client-ip";
import { env } from "../env";
import { defineJob, type Schedule } from "../jobs/definition";
import { failedSend } from "../jobs/errors";
import { enqueueJob } from "../jobs/queue";
import { RUN_ONCE, type JobSteps } from "../jobs/steps";
import { sendEmail } from "../mail";
import { describeUserAgent } from "../user-agent";

/** What a "passkey.notify" job tells the owner about. */
export const PASSKEY_CHANGES = ["added", "removed", "removed_all"] as const;
export type PasskeyChange = (typeof PASSKEY_CHANGES)[number];

/** The subject and first sentence of each passkey notice. */
export function passkeyNotice(change: PasskeyChange, name: string | null, count: number): { subject: string; summary: string } {
  switch (change) {
    case "added":
      return {
        subject: "A passkey was added to your Rekey account",
        summary: `A passkey named “${name}” was added to your Rekey account.`,
      };
    case "removed":
      return {
        subject: "A passkey was removed from your Rekey account",
        summary: `The passkey named “${name}” was removed from your Rekey account.`,
      };
    case "removed_all":
      return {
        subject: "Every passkey was removed from your Rekey account",
        summary: `${count === 1 ? "The passkey" : `All ${count} passkeys`} of your Rekey account ${count === 1 ? "was" : "were"} removed.`,
      };
  }
}

const payloadSchema = z.object({
  userId: z.string(),
  email: z.string(),
  change: z.enum(PASSKEY_CHANGES),
  name: z.string().nullable(),
  count: z.number().int(),
  /** The credentials version the "This wasn't me" link reports on. */
  credentialsVersion: z.number().int(),
  at: z.string(),
  ...requestContextShape,
});

/** Sends a passkey notice with a one-time "This wasn't me" link; a failed send is thrown for the runner to retry. */
export async function notifyPasskeyChange(db: Database, input: z.infer<typeof payloadSchema>, steps: JobSteps = RUN_ONCE): Promise<void> {
  const config = env();
  const at = new Date(input.at);
  const notice = passkeyNotice(input.change, input.name, input.count);
  const reportUrl = await reportLink(db, input.userId, steps, input.credentialsVersion);
  const sent = await sendEmail({
    to: input.email,
    subject: notice.subject,
    react: createElement(PasskeyChangedEmail, {
      summary: notice.summary,
      when: formatEmailTime(at),
      ip: input.ip ?? "unknown",
      browser: describeUserAgent(input.userAgent),
      passkeysUrl: `${config.APP_URL}/account/passkeys`,
      forgotPasswordUrl: `${config.APP_URL}/forgot-password`,
      reportUrl,
    }),
    idempotencyKey: `passkey/${input.change}/${input.userId}/${at.getTime()}`,
  });
  if (!sent.ok) throw await failedSend(sent, "passkey.email_failed", { userId: input.userId, change: input.change });
}

/** The "passkey.notify" job. */
export const passkeyNoticeJob = defineJob({
  kind: "passkey.notify",
  payload: payloadSchema,
  run: (db, payload, steps) => notifyPasskeyChange(db, payload, steps),
});

/** Writes a passkey notice as a durable job in `tx`, the transaction of the change it reports. */
export async function enqueuePasskeyNotice(
  db: Database,
  tx: Transaction,
  schedule: Schedule,
  input: {
    userId: string;
    email: string;
    change: PasskeyChange;
    name?: string;
    count?: number;
    credentialsVersion: number;
  } & RequestContext,
): Promise<void> {
  await enqueueJob(
    db,
    passkeyNoticeJob,
    {
      userId: input.userId,
      email: input.email,
      change: input.change,
      name: input.name ?? null,
      count: input.count ?? 1,
      credentialsVersion: input.credentialsVersion,
      at: new Date().toISOString(),
      ip: input.ip,
      userAgent: input.userAgent,
    },
    schedule,
    tx,
  );
}
