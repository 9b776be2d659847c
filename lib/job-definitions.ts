// The composition root of deferred work: every job kind an instance runs, listed once, and
// what runs a job after the response. The only module that knows both the queue and every
// feature; lib/jobs/ itself knows none.
import "server-only";
import { after } from "next/server";
import type { Database } from "@/db/client";
import { emailChangeAttemptJob, emailChangeLinkJob } from "./accounts/change-email";
import { emailChangedNoticeJob } from "./accounts/email-changed-notice";
import { deletionCancelledResetLinkJob, deletionCancelLinkJob } from "./accounts/delete-account";
import { passwordChangedJob } from "./accounts/password-changed-notice";
import { registrationJob } from "./accounts/register";
import { verificationRequestJob } from "./accounts/verify-email";
import { newDeviceSignInJob, repeatedFailuresJob } from "./auth/owner-alerts";
import { jobRegistry, type Schedule } from "./jobs/definition";
import { drainJobs, runAcceptedJob } from "./jobs/runner";
import { startJobWorker } from "./jobs/worker";
import { forcedResetLinkJob, reportedResetLinkJob, resetRequestJob } from "./recovery/jobs";
import { twoFactorNoticeJob } from "./second-factor/notify";
import { passkeyNoticeJob } from "./second-factor/passkey-notify";

/** Every job kind, by kind. */
export const ALL_JOBS = jobRegistry([
  resetRequestJob,
  forcedResetLinkJob,
  reportedResetLinkJob,
  registrationJob,
  verificationRequestJob,
  passwordChangedJob,
  twoFactorNoticeJob,
  passkeyNoticeJob,
  newDeviceSignInJob,
  repeatedFailuresJob,
  emailChangeLinkJob,
  emailChangeAttemptJob,
  emailChangedNoticeJob,
  deletionCancelLinkJob,
  deletionCancelledResetLinkJob,
]);

/** Runs a job once the answer has gone out (Next's after()): what every route and action passes as `schedule`. */
export const afterResponse: Schedule = (db, jobId) => after(() => runAcceptedJob(db, ALL_JOBS, jobId));

/** Runs due jobs until none is due or `deadline` passes (the drain cron). */
export function drainAllJobs(db: Database, options: { deadline?: number } = {}): Promise<number> {
  return drainJobs(db, ALL_JOBS, options);
}

/** Starts this instance's poller (instrumentation.ts). */
export function startJobs(): void {
  startJobWorker(ALL_JOBS);
}
