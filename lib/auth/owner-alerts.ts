import "server-only";
import { createElement } from "react";
import { sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Database, Transaction } from "@/db/client";
import { users } from "@/db/schema";
import { formatEmailTime } from "@/emails/layout";
import NewDeviceSignInEmail, { newDeviceSignInSubject } from "@/emails/new-device-sign-in";
import RepeatedFailuresEmail, { repeatedFailuresSubject, repeatedFailuresSummary, type RepeatedFailure } from "@/emails/repeated-failures";
import { reportLink } from "../accounts/password-changed-notice";
import { requestContextShape, type RequestContext } from "../client-ip";
import { env } from "../env";
import { defineJob, type Schedule } from "../jobs/definition";
import { failedSend } from "../jobs/errors";
import { enqueueJob, jobInsertSql } from "../jobs/queue";
import { RUN_ONCE, type JobSteps } from "../jobs/steps";
import { sendEmail } from "../mail";
import { describeUserAgent } from "../user-agent";

// What the owner hears about guessing and new devices. Each email is a job written by the
// statement (or in the transaction) of what it reports, and nothing about it reaches the
// requester: the answer is the same whether a job was written or not.

/** Sends "New sign-in to your Rekey account" with a one-time "This wasn't me" link. */
export async function notifyNewDeviceSignIn(
  db: Database,
  input: { userId: string; email: string; at: Date } & RequestContext,
  steps: JobSteps = RUN_ONCE,
): Promise<void> {
  const reportUrl = await reportLink(db, input.userId, steps);
  const sent = await sendEmail({
    to: input.email,
    subject: newDeviceSignInSubject,
    react: createElement(NewDeviceSignInEmail, {
      when: formatEmailTime(input.at),
      ip: input.ip ?? "unknown",
      browser: describeUserAgent(input.userAgent),
      forgotPasswordUrl: `${env().APP_URL}/forgot-password`,
      reportUrl,
    }),
    idempotencyKey: `new-device/${input.userId}/${input.at.getTime()}`,
  });
  if (!sent.ok) throw await failedSend(sent, "sign_in.new_device_email_failed", { userId: input.userId });
}

/** The "sign_in.new_device" job: a sign-in from a browser with no device token for the account. */
export const newDeviceSignInJob = defineJob({
  kind: "sign_in.new_device",
  payload: z.object({ userId: z.string(), email: z.string(), at: z.string(), ...requestContextShape }),
  run: (db, payload, steps) => notifyNewDeviceSignIn(db, { ...payload, at: new Date(payload.at) }, steps),
});

/** Writes the new-device notice in `tx`, the transaction that stores the session it reports. */
export async function enqueueNewDeviceSignIn(
  db: Database,
  tx: Transaction,
  schedule: Schedule,
  input: { userId: string } & RequestContext,
): Promise<void> {
  const user = await tx.query.users.findFirst({ where: (u, { eq }) => eq(u.id, input.userId), columns: { email: true } });
  if (!user) return;
  const payload = { userId: input.userId, email: user.email, at: new Date().toISOString(), ip: input.ip, userAgent: input.userAgent };
  await enqueueJob(db, newDeviceSignInJob, payload, schedule, tx);
}

/** The "sign_in.repeated_failures" job: the per-address sign-in limit or a code budget was crossed. */
export const repeatedFailuresJob = defineJob({
  kind: "sign_in.repeated_failures",
  payload: z.object({ userId: z.string(), email: z.string(), what: z.enum(["passwords", "codes"]), at: z.string() }),
  run: async (_db, payload) => {
    const config = env();
    const at = new Date(payload.at);
    const sent = await sendEmail({
      to: payload.email,
      subject: repeatedFailuresSubject(payload.what),
      react: createElement(RepeatedFailuresEmail, {
        summary: repeatedFailuresSummary(payload.what, formatEmailTime(at)),
        forgotPasswordUrl: `${config.APP_URL}/forgot-password`,
        twoFactorUrl: `${config.APP_URL}/account/two-factor`,
      }),
      idempotencyKey: `repeated-failures/${payload.what}/${payload.userId}/${at.getTime()}`,
    });
    if (!sent.ok) throw await failedSend(sent, "sign_in.repeated_failures_email_failed", { userId: payload.userId });
  },
});

/**
 * The INSERT of a repeated-failures job for the confirmed account `account` matches (a
 * condition on `users`), for each row of `source` where `crossed` holds: one CTE of the
 * statement that counts the attempt, so the count and its notice commit together. An address
 * without an account gets no job, and the statement answers the same either way.
 */
export function repeatedFailuresJobSql(what: RepeatedFailure, source: SQL, account: SQL, crossed: SQL): SQL {
  const payload = sql`jsonb_build_object('userId', ${users.id}, 'email', ${users.email}, 'what', ${what}::text,
    'at', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`;
  return jobInsertSql(
    repeatedFailuresJob,
    payload,
    sql`from ${source} join ${users} on ${account} and ${users.emailVerified} is not null
      and ${users.deletionRequestedAt} is null where ${crossed}`,
  );
}
