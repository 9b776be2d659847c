import "server-only";
import { and, eq, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import { createElement } from "react";
import { z } from "zod";
import type { Database, Transaction } from "@/db/client";
import {
  accountDeletionCancelTokens,
  deviceAuthorizations,
  emailChangeTokens,
  emailChangeUndoTokens,
  emailVerificationTokens,
  passwordChangeReportTokens,
  passwordResetTokens,
  twoFactorChallenges,
  users,
} from "@/db/schema";
import AccountDeletionEmail, { accountDeletionSubject } from "@/emails/account-deletion";
import { formatEmailTime } from "@/emails/layout";
import { audit } from "../audit";
import { isIdentityConfirmed, type ConfirmationNeeded } from "../auth/confirm-identity";
import { nextCredentialsVersion } from "../auth/sessions";
import { deleteUserSessions } from "../auth/user-sessions";
import { requestContextShape, type RequestContext } from "../client-ip";
import { changeCredentials } from "../credential-change";
import { env } from "../env";
import { defineJob, type Schedule } from "../jobs/definition";
import { failedSend } from "../jobs/errors";
import { enqueueJob } from "../jobs/queue";
import { seal } from "../jobs/seal";
import { unsealOrGiveUp } from "../jobs/steps";
import { auditLinkRefusal } from "../link-refusals";
import { sendEmail } from "../mail";
import { issueResetLink } from "../recovery/deliver";
import { consumeToken, lookUpToken, spendUserTokens, type TokenProblem } from "../single-use-tokens";
import { generateToken } from "../tokens";
import { lockUser } from "../user-lock";
import { normalizeEmail } from "../validation/fields";

// Deleting an account is two steps apart in time: at once it stops being an account (no
// session, no link, no sign-in, no reset: it answers as an unknown address), and only after
// ACCOUNT_DELETION_GRACE_DAYS does the cleanup cron erase its rows (lib/accounts/erase-accounts.ts).
// In between, the emailed cancel link is the one way back.

/** The "cancel deletion" email: the link's token waits sealed in the job, never in the clear. */
export const deletionCancelLinkJob = defineJob({
  kind: "account.deletion_cancel_link",
  payload: z.object({
    userId: z.string(),
    email: z.string(),
    tokenId: z.string(),
    sealedToken: z.string(),
    deletedAt: z.string(),
    expiresAt: z.string(),
    byAdmin: z.boolean(),
  }),
  run: async (db, input) => {
    const token = unsealOrGiveUp(input.sealedToken);
    const sent = await sendEmail({
      to: input.email,
      subject: accountDeletionSubject,
      react: createElement(AccountDeletionEmail, {
        deletedAt: formatEmailTime(new Date(input.deletedAt)),
        erasedAfter: formatEmailTime(new Date(input.expiresAt)),
        by: input.byAdmin ? "an administrator" : "you",
        cancelUrl: `${env().APP_URL}/cancel-deletion/${token}`,
      }),
      idempotencyKey: `account-deletion/${input.tokenId}`,
    });
    if (!sent.ok) {
      throw await failedSend(sent, "account.deletion_email_failed", { userId: input.userId }, () =>
        audit(db, { event: "account.deletion_email_failed", userId: input.userId, details: { reason: sent.reason } }),
      );
    }
  },
});

/** A fresh reset link once a deletion is cancelled: the restored account has no working password until it is used. */
export const deletionCancelledResetLinkJob = defineJob({
  kind: "account.deletion_cancelled_reset",
  payload: z.object({ userId: z.string(), email: z.string(), ...requestContextShape }),
  run: (db, { userId, email, ip, userAgent }, steps) => issueResetLink(db, { id: userId, email }, { ip, userAgent }, steps),
});

export type DeletionRequest = RequestContext & {
  userId: string;
  /** The address as the person typed it: it must be the account's. */
  typedEmail: string;
} & (
    | /** The owner, on this session, which must have confirmed it's them within REAUTH_MINUTES. */ { sessionId: string; adminId?: never }
    | /** An operator (whose own recent confirmation the caller checked). */ { adminId: string; sessionId?: never }
  );

export type DeletionResult =
  | { ok: true; sessionsEnded: number; erasedAfter: Date }
  | ConfirmationNeeded
  | { ok: false; code: "EMAIL_MISMATCH" | "ALREADY_PENDING" | "NOT_FOUND" };

/**
 * Deletes an account, restorably: in one transaction (the user row locked first) the account is
 * marked deletion pending and its credentials version rises (so a sign-in in flight gets no
 * live session), every session and second sign-in step ends, every emailed link (reset,
 * verification, "This wasn't me", email change and its undo) is spent, approved device
 * authorizations are voided, and the cancel link's email is written as a job. The owner's
 * confirmation is checked inside the transaction: a page that hid the form proves nothing.
 */
export async function requestAccountDeletion(db: Database, request: DeletionRequest, schedule: Schedule): Promise<DeletionResult> {
  const graceDays = env().ACCOUNT_DELETION_GRACE_DAYS;
  const context = { userId: request.userId, ip: request.ip, userAgent: request.userAgent };
  const admin: Record<string, string> = request.adminId ? { admin_id: request.adminId } : {};
  const { token, hash } = generateToken();
  return db.transaction(async (tx): Promise<DeletionResult> => {
    if (!(await lockUser(tx, request.userId))) return { ok: false, code: "NOT_FOUND" };
    if (request.sessionId !== undefined && !(await isIdentityConfirmed(tx, { userId: request.userId, sessionId: request.sessionId }))) {
      return { ok: false, code: "CONFIRMATION_NEEDED" };
    }
    const [user] = await tx
      .select({ email: users.email, pending: users.deletionRequestedAt })
      .from(users)
      .where(eq(users.id, request.userId));
    if (!user) return { ok: false, code: "NOT_FOUND" };
    if (normalizeEmail(request.typedEmail) !== user.email) return { ok: false, code: "EMAIL_MISMATCH" };
    if (user.pending) return { ok: false, code: "ALREADY_PENDING" };

    const [marked] = await tx
      .update(users)
      .set({ deletionRequestedAt: sql`now()`, credentialsVersion: nextCredentialsVersion() })
      .where(and(eq(users.id, request.userId), isNull(users.deletionRequestedAt)))
      .returning({ deletedAt: users.deletionRequestedAt });
    if (!marked?.deletedAt) return { ok: false, code: "ALREADY_PENDING" };
    const sessionsEnded = await endEverythingOf(tx, request.userId);
    const erasedAfter = new Date(marked.deletedAt.getTime() + graceDays * 86_400_000);
    const [link] = await tx
      .insert(accountDeletionCancelTokens)
      .values({ userId: request.userId, tokenHash: hash, expiresAt: erasedAfter })
      .returning({ id: accountDeletionCancelTokens.id });
    await audit(tx, { event: "account.deletion_requested", ...context, details: { grace_days: graceDays, ...admin } });
    await audit(tx, { event: "sessions.revoked", ...context, details: { count: sessionsEnded, reason: "account_deleted", ...admin } });
    const payload = {
      userId: request.userId,
      email: user.email,
      tokenId: link!.id,
      sealedToken: seal(token),
      deletedAt: marked.deletedAt.toISOString(),
      expiresAt: erasedAfter.toISOString(),
      byAdmin: Boolean(request.adminId),
    };
    await enqueueJob(db, deletionCancelLinkJob, payload, schedule, tx);
    return { ok: true, sessionsEnded, erasedAfter };
  });
}

/** Every way into the account and every outstanding link, ended in `tx`; returns how many sessions ended. */
async function endEverythingOf(tx: Transaction, userId: string): Promise<number> {
  const ended = await deleteUserSessions(tx, userId);
  await tx.delete(twoFactorChallenges).where(eq(twoFactorChallenges.userId, userId));
  for (const table of [passwordResetTokens, emailVerificationTokens, passwordChangeReportTokens]) {
    await spendUserTokens(tx, table, userId);
  }
  for (const table of [emailChangeTokens, emailChangeUndoTokens]) {
    await tx
      .update(table)
      .set({ usedAt: sql`now()` })
      .where(and(eq(table.userId, userId), isNull(table.usedAt)));
  }
  // Approved but not yet collected by the tool: its token must never be issued.
  await tx
    .update(deviceAuthorizations)
    .set({ status: "denied" })
    .where(and(eq(deviceAuthorizations.userId, userId), inArray(deviceAuthorizations.status, ["pending", "approved"])));
  return ended;
}

/** Whether a cancel link still works, without consuming it (the page's GET). */
export async function inspectDeletionCancelToken(db: Database, token: string): Promise<{ status: "valid" } | { status: TokenProblem }> {
  const found = await lookUpToken(db, accountDeletionCancelTokens, token);
  return found.status === "valid" ? { status: "valid" } : { status: found.status };
}

export type CancelDeletionResult = { ok: true } | { ok: false; problem: TokenProblem };

/**
 * The cancel link, used (a POST, never the GET): in one transaction the link is consumed, the
 * account is no longer pending deletion, its password stops working, and a reset link is
 * written as a job to the address. Whoever deleted the account had a confirmed session (or was
 * an operator); the link proves only the mailbox, so the mailbox's owner chooses the password.
 * No session is created. Loses cleanly to the cleanup cron: once erased, the link is "invalid".
 */
export async function cancelAccountDeletion(
  db: Database,
  token: string,
  context: RequestContext,
  schedule: Schedule,
): Promise<CancelDeletionResult> {
  const found = await lookUpToken(db, accountDeletionCancelTokens, token);
  if (found.status !== "valid") {
    await auditLinkRefusal(db, "account_deletion_cancel", found.status, { ...context, userId: found.userId });
    return { ok: false, problem: found.status };
  }
  const restored = await db.transaction(async (tx) => {
    // The user row first (the cron locks it the same way before erasing): whichever comes second sees the other's outcome.
    if (!(await lockUser(tx, found.userId))) return false;
    const consumed = await consumeToken(tx, accountDeletionCancelTokens, token);
    if (!consumed) return false;
    const [revived] = await tx
      .update(users)
      .set({ deletionRequestedAt: null })
      .where(and(eq(users.id, consumed.userId), isNotNull(users.deletionRequestedAt)))
      .returning({ id: users.id });
    if (!revived) return false;
    const changed = await changeCredentials(
      tx,
      db,
      {
        userId: consumed.userId,
        password: { locked: "reported" },
        event: "account.deletion_cancelled",
        reason: "deletion_cancelled",
        notice: {
          job: deletionCancelledResetLinkJob,
          payload: (user, request) => ({ userId: user.id, email: user.email, ...request }),
        },
        ...context,
      },
      schedule,
    );
    if (!changed) return false;
    await spendUserTokens(tx, accountDeletionCancelTokens, changed.userId);
    return true;
  });
  if (restored) return { ok: true };
  const now = await lookUpToken(db, accountDeletionCancelTokens, token);
  const problem = now.status === "valid" ? "invalid" : now.status;
  // The user as the link reads now: erased in between (the cleanup won), there is none to name.
  await auditLinkRefusal(db, "account_deletion_cancel", problem, { ...context, userId: now.userId ?? null });
  return { ok: false, problem };
}
