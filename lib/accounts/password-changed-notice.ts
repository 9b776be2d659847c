import "server-only";
import { createElement } from "react";
import type { Database } from "@/db/client";
import { asc, eq, sql } from "drizzle-orm";
import { passkeys, passwordChangeReportTokens, users } from "@/db/schema";
import PasswordChangedEmail, { passwordChangedSubject } from "@/emails/password-changed";
import { formatEmailTime } from "@/emails/layout";
import { z } from "zod";
import { requestContextShape } from "../client-ip";
import { env } from "../env";
import { failedSend } from "../jobs/errors";
import { defineJob } from "../jobs/definition";
import { RUN_ONCE, type JobSteps } from "../jobs/steps";
import { sendEmail } from "../mail";
import { generateToken } from "../tokens";
import { describeUserAgent } from "../user-agent";
import type { CredentialNotice } from "../credential-change";

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
  const reportUrl = await reportLink(db, input.userId, steps);
  // Read when the email goes out: the list the owner should check is the one after the change.
  const names = await db
    .select({ name: passkeys.name })
    .from(passkeys)
    .where(eq(passkeys.userId, input.userId))
    .orderBy(asc(passkeys.createdAt));
  const passkeyProps =
    names.length > 0 ? { passkeys: names.map((p) => `“${p.name}”`).join(", "), sessionsUrl: `${config.APP_URL}/account/sessions` } : {};
  const sent = await sendEmail({
    to: input.email,
    subject: passwordChangedSubject,
    react: createElement(PasswordChangedEmail, {
      changedAt: formatEmailTime(input.changedAt),
      ip: input.ip ?? "unknown",
      browser: describeUserAgent(input.userAgent),
      forgotPasswordUrl: `${config.APP_URL}/forgot-password`,
      reportUrl,
      ...passkeyProps,
    }),
    idempotencyKey: `password-changed/${input.userId}/${input.changedAt.getTime()}`,
  });
  if (!sent.ok) throw await failedSend(sent, "password_changed.email_failed", { userId: input.userId });
}

/**
 * A one-time "This wasn't me" link for `userId` (lib/recovery/wasnt-me.ts), made once per job
 * (a retry sends the same link) and kept sealed between attempts. It reports on
 * `credentialsVersion` (default: the user's version now, which the job reads right after the
 * change it reports): using it removes every passkey added at that version or later.
 */
export async function reportLink(db: Database, userId: string, steps: JobSteps, credentialsVersion?: number): Promise<string> {
  const { token } = await steps.once(
    "report-link",
    async () => {
      const { token, hash } = generateToken();
      await db.insert(passwordChangeReportTokens).values({
        userId,
        tokenHash: hash,
        expiresAt: new Date(Date.now() + REPORT_LINK_TTL_DAYS * 24 * 60 * 60 * 1000),
        reportsCredentialsVersion:
          credentialsVersion ?? sql`(select ${users.credentialsVersion} from ${users} where ${users.id} = ${userId})`,
      });
      return { token };
    },
    ["token"],
  );
  return `${env().APP_URL}/wasnt-me/${token}`;
}

/** The "password_changed.notify" job: the email every password change or reset sends. */
export const passwordChangedJob = defineJob({
  kind: "password_changed.notify",
  payload: z.object({ userId: z.string(), email: z.string(), changedAt: z.string(), ...requestContextShape }),
  run: (db, payload, steps) => notifyPasswordChanged(db, { ...payload, changedAt: new Date(payload.changedAt) }, steps),
});

/** The notice of a new password, as changeCredentials sends it. */
export const passwordChangedNotice: CredentialNotice<z.input<typeof passwordChangedJob.payload>> = {
  job: passwordChangedJob,
  payload: (user, context) => ({ userId: user.id, email: user.email, changedAt: user.passwordChangedAt, ...context }),
};
