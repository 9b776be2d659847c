import "server-only";
import type { Database } from "@/db/client";
import { auditThrottled, type AuditEventName } from "./audit";
import { clientKey, type RequestContext } from "./client-ip";
import { consumeRateLimit, type RateLimit } from "./rate-limit";
import type { TokenProblem } from "./single-use-tokens";

/**
 * One audit row per client IP (an IPv6 /64) and hour for refused links, whatever the link:
 * anyone can load /reset-password/<garbage> in a loop, and each load must not add a row kept
 * for AUDIT_RETENTION_DAYS. `max: 0`: every refusal counts as over the limit, so the first of
 * the window is the one auditThrottled writes, the rest are log lines and the
 * rekey_audit_unrecorded_total metric.
 */
export const LINK_REFUSAL_LIMIT: RateLimit = { name: "link-refusal-ip", max: 0, windowSeconds: 60 * 60 };

/** The emailed links whose refusals are audited, each with its event names. */
const LINK_EVENTS = {
  password_reset: { invalid: "password_reset.token_invalid", expired: "password_reset.token_expired", used: "password_reset.token_reused" },
  email_verification: {
    invalid: "email_verification.link_refused",
    expired: "email_verification.link_refused",
    used: "email_verification.link_refused",
  },
  password_change_report: {
    invalid: "password_change.report_link_refused",
    expired: "password_change.report_link_refused",
    used: "password_change.report_link_refused",
  },
  email_change: { invalid: "email_change.link_refused", expired: "email_change.link_refused", used: "email_change.link_refused" },
  account_deletion_cancel: {
    invalid: "account.deletion_cancel_link_refused",
    expired: "account.deletion_cancel_link_refused",
    used: "account.deletion_cancel_link_refused",
  },
} as const satisfies Record<string, Record<TokenProblem, AuditEventName>>;

export type RefusedLink = keyof typeof LINK_EVENTS;

/**
 * Records that a link did not work (a page view, a form post or an API check), throttled per
 * client IP like every other refusal of an anonymous request. The count is one atomic upsert,
 * so parallel refusals from one IP still write exactly one row.
 */
export async function auditLinkRefusal(
  db: Database,
  link: RefusedLink,
  problem: TokenProblem,
  context: RequestContext & { userId?: string | null },
): Promise<void> {
  const counted = await consumeRateLimit(db, LINK_REFUSAL_LIMIT, clientKey(context.ip));
  await auditThrottled(
    db,
    {
      event: LINK_EVENTS[link][problem],
      userId: context.userId ?? null,
      ip: context.ip,
      userAgent: context.userAgent,
      details: { problem },
    },
    counted.allowed ? 1 : counted.refusedInWindow,
  );
}
