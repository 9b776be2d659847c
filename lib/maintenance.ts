import "server-only";
import type { Database } from "@/db/client";
import { accountDeletionCancelTokens, emailVerificationTokens, passwordChangeReportTokens, passwordResetTokens } from "@/db/schema";
import { eraseDeletedAccounts } from "./accounts/erase-accounts";
import { deleteExpiredAuditDays, rollUpAuditDays } from "./admin/stats";
import { deleteExpiredAuditEvents } from "./audit";
import { deleteExpiredSessions } from "./auth/sessions";
import { deleteExpiredDeviceAuthorizations } from "./device/flow";
import { env } from "./env";
import { deleteFinishedJobs } from "./jobs/queue";
import { deleteExpiredRateLimits } from "./rate-limit";
import { deleteStaleTokens } from "./single-use-tokens";
import { deleteEndedSignInChallenges } from "./second-factor/sign-in-step";
import { deleteEndedWebauthnChallenges } from "./second-factor/webauthn-challenges";

/** How long a dead link keeps saying "used" or "expired" before it becomes "not valid". */
export const DEAD_TOKEN_GRACE_DAYS = 7;

export interface CleanupReport {
  rateLimitBuckets: number;
  sessions: number;
  passwordResetTokens: number;
  emailVerificationTokens: number;
  passwordChangeReportTokens: number;
  auditEvents: number;
  /** Dashboard roll-ups of days past AUDIT_RETENTION_DAYS. */
  auditDailyCounts: number;
  finishedJobs: number;
  signInChallenges: number;
  /** Passkey ceremonies past their 5 minutes. */
  webauthnChallenges: number;
  deviceAuthorizations: number;
  accountDeletionCancelTokens: number;
  /** Accounts whose deletion passed ACCOUNT_DELETION_GRACE_DAYS, erased. */
  erasedAccounts: number;
}

/**
 * Deletes what no longer serves anyone: ended rate-limit windows, expired sessions, links
 * dead for more than a week, second sign-in steps ended a day ago, passkey challenges past their expiry, device authorizations past their expiry, audit events older than
 * AUDIT_RETENTION_DAYS with their days' dashboard roll-ups, and jobs finished longer ago than
 * JOBS_RETENTION_DAYS; and accounts deleted longer ago than ACCOUNT_DELETION_GRACE_DAYS. Safe to run from any instance, any time.
 */
export async function cleanUpExpiredRecords(db: Database): Promise<CleanupReport> {
  // Not a deletion, but hourly upkeep too: the dashboard then reads finished days from roll-ups.
  await rollUpAuditDays(db);
  // First: an erased account's links, sessions and audit rows are then gone or scrubbed before the counts below.
  const erasedAccounts = await eraseDeletedAccounts(db);
  return {
    erasedAccounts,
    rateLimitBuckets: await deleteExpiredRateLimits(db),
    sessions: await deleteExpiredSessions(db),
    passwordResetTokens: await deleteStaleTokens(db, passwordResetTokens, DEAD_TOKEN_GRACE_DAYS),
    emailVerificationTokens: await deleteStaleTokens(db, emailVerificationTokens, DEAD_TOKEN_GRACE_DAYS),
    passwordChangeReportTokens: await deleteStaleTokens(db, passwordChangeReportTokens, DEAD_TOKEN_GRACE_DAYS),
    accountDeletionCancelTokens: await deleteStaleTokens(db, accountDeletionCancelTokens, DEAD_TOKEN_GRACE_DAYS),
    auditEvents: await deleteExpiredAuditEvents(db, env().AUDIT_RETENTION_DAYS),
    auditDailyCounts: await deleteExpiredAuditDays(db, env().AUDIT_RETENTION_DAYS),
    finishedJobs: await deleteFinishedJobs(db, env().JOBS_RETENTION_DAYS),
    signInChallenges: await deleteEndedSignInChallenges(db),
    webauthnChallenges: await deleteEndedWebauthnChallenges(db),
    deviceAuthorizations: await deleteExpiredDeviceAuthorizations(db),
  };
}
