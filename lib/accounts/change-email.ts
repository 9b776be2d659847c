import "server-only";
import { and, eq, ne, sql } from "drizzle-orm";
import { createElement } from "react";
import { z } from "zod";
import type { Database, Transaction } from "@/db/client";
import { emailChangeTokens, emailVerificationTokens, passwordResetTokens, sessions, users } from "@/db/schema";
import EmailChangeConfirmEmail, { emailChangeConfirmSubject } from "@/emails/email-change-confirm";
import EmailChangeAttemptEmail, { emailChangeAttemptSubject } from "@/emails/email-change-attempt";
import { formatEmailTime } from "@/emails/layout";
import { audit } from "../audit";
import { clearSignInFailures, countSignInAttempt } from "../auth/sign-in-throttle";
import { confirmIdentity, isIdentityConfirmed, type ConfirmIdentityInput, type ConfirmIdentityResult } from "../auth/confirm-identity";
import type { RequestContext } from "../client-ip";
import { env } from "../env";
import { failedSend } from "../jobs/errors";
import { defineJob, type Schedule } from "../jobs/definition";
import { enqueueJob } from "../jobs/queue";
import { seal } from "../jobs/seal";
import { RUN_ONCE, unsealOrGiveUp, type JobSteps } from "../jobs/steps";
import { auditLinkRefusal } from "../link-refusals";
import { sendEmail } from "../mail";
import { verifyDummyPassword, verifyPassword } from "../password-hashing";
import { consumeRateLimit, type RateLimit } from "../rate-limit";
import { consumeToken, lookUpToken, spendUserTokens, type TokenProblem } from "../single-use-tokens";
import { emailFingerprint, generateToken } from "../tokens";
import { lockUser } from "../user-lock";
import { maskEmail, normalizeEmail } from "../validation/fields";
import { emailChangedNoticeJob } from "./email-changed-notice";
import { isUniqueViolation } from "./unique-violation";

/** How long the link to the new address works. */
export const EMAIL_CHANGE_TTL_MINUTES = 60;
/** Change requests per account per hour: each one emails an address the requester chose. */
export const EMAIL_CHANGE_LIMIT: RateLimit = { name: "email-change", max: 5, windowSeconds: 60 * 60 };

export type RequestEmailChangeResult =
  | { ok: true }
  | { ok: false; code: "CONFIRMATION_NEEDED" | "SAME_ADDRESS" }
  | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number }
  | Exclude<ConfirmIdentityResult, { ok: true }>;

/**
 * Asks to move the account to `newEmail`: needs "Confirm it's you" (a recent one on this
 * session, or `confirmation` given now). Nothing about the account changes; any pending change
 * is cancelled, and a link goes to the new address. An address that belongs to another account
 * gets the same answer, no link, and its owner is told someone tried.
 */
export async function requestEmailChange(
  db: Database,
  input: { userId: string; sessionId: string; newEmail: string; confirmation?: ConfirmIdentityInput | null } & RequestContext,
  schedule: Schedule,
): Promise<RequestEmailChangeResult> {
  const context = { ip: input.ip, userAgent: input.userAgent };
  const session = { userId: input.userId, sessionId: input.sessionId };
  if (!(await isIdentityConfirmed(db, session))) {
    if (!input.confirmation) return { ok: false, code: "CONFIRMATION_NEEDED" };
    const confirmed = await confirmIdentity(db, { ...session, ...input.confirmation, ...context }, schedule);
    if (!confirmed.ok) return confirmed;
  }
  const newEmail = normalizeEmail(input.newEmail);
  const budget = await consumeRateLimit(db, EMAIL_CHANGE_LIMIT, input.userId);
  if (!budget.allowed) return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: budget.retryAfterSeconds };

  return db.transaction(async (tx): Promise<RequestEmailChangeResult> => {
    // The user row first, as every credential change does (see lockUser).
    if (!(await lockUser(tx, input.userId))) return { ok: false, code: "SESSION_ENDED" };
    const [user] = await tx.select({ email: users.email }).from(users).where(eq(users.id, input.userId));
    if (!user || user.email === newEmail) return { ok: false, code: "SAME_ADDRESS" };
    await cancelPendingChange(tx, input.userId, "replaced", context);
    const entry = { userId: input.userId, email: user.email, ...context };
    const details = { new_email: emailFingerprint(newEmail) };
    await audit(tx, { event: "email_change.requested", ...entry, details });
    const [owner] = await tx.select({ id: users.id }).from(users).where(eq(users.email, newEmail));
    if (owner) {
      // The same answer as for a free address; the address's owner hears of it instead.
      await audit(tx, { event: "email_change.refused", ...entry, details: { ...details, reason: "address_taken" } });
      const attemptedAt = new Date().toISOString();
      await enqueueJob(db, emailChangeAttemptJob, { email: newEmail, attemptedAt }, schedule, tx);
      return { ok: true };
    }
    const { token, hash } = generateToken();
    const [row] = await tx
      .insert(emailChangeTokens)
      .values({
        userId: input.userId,
        tokenHash: hash,
        newEmail,
        expiresAt: new Date(Date.now() + EMAIL_CHANGE_TTL_MINUTES * 60 * 1000),
        requestIp: input.ip,
        requestUserAgent: input.userAgent,
      })
      .returning({ id: emailChangeTokens.id });
    if (!row) throw new Error("token insert returned no row");
    // The raw token waits in the job sealed (AES-256-GCM), as registration's password does.
    // userId: so that erasing the account (lib/accounts/erase-accounts.ts) finds this job too.
    await enqueueJob(
      db,
      emailChangeLinkJob,
      { userId: input.userId, tokenId: row.id, email: newEmail, sealedToken: seal(token) },
      schedule,
      tx,
    );
    return { ok: true };
  });
}

/** Spends a pending change's links (a newer request replaces it), audited when there was one. */
async function cancelPendingChange(tx: Transaction, userId: string, reason: string, context: RequestContext): Promise<void> {
  const spent = await tx
    .update(emailChangeTokens)
    .set({ usedAt: sql`now()` })
    .where(and(eq(emailChangeTokens.userId, userId), sql`${emailChangeTokens.usedAt} is null`))
    .returning({ id: emailChangeTokens.id });
  if (spent.length > 0) await audit(tx, { event: "email_change.cancelled", userId, ...context, details: { reason } });
}

/** The pending change of an account, if any: the new address masked, for its own pages. */
export async function pendingEmailChange(db: Database, userId: string): Promise<{ maskedEmail: string; expiresAt: Date } | null> {
  const [row] = await db
    .select({ newEmail: emailChangeTokens.newEmail, expiresAt: emailChangeTokens.expiresAt })
    .from(emailChangeTokens)
    .where(and(eq(emailChangeTokens.userId, userId), sql`${emailChangeTokens.usedAt} is null and ${emailChangeTokens.expiresAt} > now()`))
    .limit(1);
  return row ? { maskedEmail: maskEmail(row.newEmail), expiresAt: row.expiresAt } : null;
}

type FoundChange =
  | { status: "valid"; userId: string; newEmail: string; email: string; passwordHash: string | null }
  | { status: TokenProblem; userId?: string };

async function findChange(db: Database, token: string): Promise<FoundChange> {
  const found = await lookUpToken(db, emailChangeTokens, token);
  if (found.status !== "valid") return found;
  const [row] = await db
    .select({ newEmail: emailChangeTokens.newEmail, email: users.email, passwordHash: users.passwordHash })
    .from(emailChangeTokens)
    .innerJoin(users, eq(users.id, emailChangeTokens.userId))
    .where(eq(emailChangeTokens.id, found.id));
  if (!row) return { status: "invalid" };
  return { status: "valid", userId: found.userId, ...row };
}

/** What a confirmation link is, without consuming it (mail scanners open links). */
export async function inspectEmailChangeToken(
  db: Database,
  token: string,
): Promise<{ status: "valid"; maskedEmail: string } | { status: TokenProblem }> {
  const found = await findChange(db, token);
  return found.status === "valid" ? { status: "valid", maskedEmail: maskEmail(found.newEmail) } : { status: found.status };
}

export type ConfirmEmailChangeResult =
  | { ok: true; email: string; sessionKept: boolean }
  | { ok: false; code: "TOKEN_PROBLEM"; problem: TokenProblem }
  | { ok: false; code: "WRONG_PASSWORD" | "ADDRESS_TAKEN" }
  | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

/** Rolls a confirmation back, carrying why. */
class Refused extends Error {
  constructor(readonly code: "superseded" | "taken") {
    super(code);
  }
}

/**
 * Confirms a change with the link and the account's password, in one transaction: the address
 * changes, the credentials version rises, every session but `sessionId` (the confirming one, if
 * it is this account's and live) ends, outstanding reset, verification and change links die,
 * and the old address is sent a notice with an undo link. The unique address decides a race
 * with a registration or another account's change (ADDRESS_TAKEN, nothing changes).
 */
export async function confirmEmailChange(
  db: Database,
  input: { token: string; password: string; sessionId?: string | null } & RequestContext,
  schedule: Schedule,
): Promise<ConfirmEmailChangeResult> {
  const context = { ip: input.ip, userAgent: input.userAgent };
  const found = await findChange(db, input.token);
  if (found.status !== "valid") {
    await auditLinkRefusal(db, "email_change", found.status, { ...context, userId: found.userId });
    return { ok: false, code: "TOKEN_PROBLEM", problem: found.status };
  }
  // The link makes this page a password oracle: it shares the sign-in budget of the account's address.
  const attempt = { email: found.email, ip: input.ip };
  const budget = await countSignInAttempt(db, attempt);
  if (!budget.allowed) return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: budget.retryAfterSeconds };
  const checkedHash = found.passwordHash;
  const matches = checkedHash ? await verifyPassword(checkedHash, input.password) : await verifyDummyPassword(input.password);
  const entry = { userId: found.userId, email: found.email, ...context };
  const newFingerprint = { new_email: emailFingerprint(found.newEmail) };
  if (!checkedHash || !matches) {
    await audit(db, { event: "email_change.refused", ...entry, details: { ...newFingerprint, reason: "wrong_password" } });
    return { ok: false, code: "WRONG_PASSWORD" };
  }

  try {
    const kept = await db.transaction(async (tx) => {
      if (!(await lockUser(tx, found.userId))) throw new Refused("superseded");
      if (!(await consumeToken(tx, emailChangeTokens, input.token))) throw new Refused("superseded");
      // Only while the address and password are the ones just read: a reset or another change in between wins.
      const [changed] = await tx
        .update(users)
        .set({ email: found.newEmail, credentialsVersion: sql`${users.credentialsVersion} + 1` })
        .where(and(eq(users.id, found.userId), eq(users.email, found.email), eq(users.passwordHash, checkedHash)))
        .returning({ version: users.credentialsVersion });
      if (!changed) throw new Refused("superseded");
      for (const table of [emailChangeTokens, passwordResetTokens, emailVerificationTokens]) await spendUserTokens(tx, table, found.userId);
      // The confirming session moves to the new credentials (if it was live on the old ones); every other one ends.
      const keep = input.sessionId
        ? await tx
            .update(sessions)
            .set({ credentialsVersion: changed.version })
            .where(
              and(
                eq(sessions.id, input.sessionId),
                eq(sessions.userId, found.userId),
                eq(sessions.credentialsVersion, changed.version - 1),
              ),
            )
            .returning({ id: sessions.id })
        : [];
      const ended = await tx
        .delete(sessions)
        .where(keep[0] ? and(eq(sessions.userId, found.userId), ne(sessions.id, keep[0].id)) : eq(sessions.userId, found.userId))
        .returning({ id: sessions.id });
      await audit(tx, { event: "email_change.confirmed", ...entry, details: newFingerprint });
      await audit(tx, {
        event: "sessions.revoked",
        userId: found.userId,
        ...context,
        details: { count: ended.length, reason: "email_change" },
      });
      const notice = {
        userId: found.userId,
        oldEmail: found.email,
        newEmail: found.newEmail,
        changedAt: new Date().toISOString(),
        ...context,
      };
      await enqueueJob(db, emailChangedNoticeJob, notice, schedule, tx);
      return keep.length > 0;
    });
    await clearSignInFailures(db, attempt);
    return { ok: true, email: found.newEmail, sessionKept: kept };
  } catch (error) {
    const refusal = error instanceof Refused ? error.code : isUniqueViolation(error) ? "taken" : null;
    if (!refusal) throw error;
    if (refusal === "taken") {
      await audit(db, { event: "email_change.refused", ...entry, details: { ...newFingerprint, reason: "address_taken" } });
      return { ok: false, code: "ADDRESS_TAKEN" };
    }
    // Lost a race: say which, from the rows as they are now.
    const now = await findChange(db, input.token);
    const problem: TokenProblem = now.status === "valid" ? "invalid" : now.status;
    await auditLinkRefusal(db, "email_change", problem, { ...context, userId: found.userId });
    return { ok: false, code: "TOKEN_PROBLEM", problem };
  }
}

/** Emails the link to the new address (the "email_change.link" job), unless the change was cancelled meanwhile. */
export async function sendEmailChangeLink(
  db: Database,
  input: { tokenId: string; email: string; token: string },
  steps: JobSteps = RUN_ONCE,
): Promise<void> {
  const pending = await steps.once("pending", async () => {
    const [row] = await db
      .select({ userId: emailChangeTokens.userId })
      .from(emailChangeTokens)
      .where(and(eq(emailChangeTokens.id, input.tokenId), sql`${emailChangeTokens.usedAt} is null`));
    return { userId: row?.userId ?? null };
  });
  if (!pending.userId) return;
  const sent = await sendEmail({
    to: input.email,
    subject: emailChangeConfirmSubject,
    react: createElement(EmailChangeConfirmEmail, {
      confirmUrl: `${env().APP_URL}/email-change/${input.token}`,
      expiresInMinutes: EMAIL_CHANGE_TTL_MINUTES,
    }),
    idempotencyKey: `email-change/${input.tokenId}`,
  });
  if (!sent.ok) {
    throw await failedSend(sent, "email_change.email_failed", { userId: pending.userId }, () =>
      audit(db, { event: "email_change.email_failed", userId: pending.userId, details: { reason: sent.reason } }),
    );
  }
}

/** The "email_change.link" job: the confirmation link to the new address, its token sealed until sent. */
export const emailChangeLinkJob = defineJob({
  kind: "email_change.link",
  payload: z.object({ userId: z.string(), tokenId: z.string(), email: z.string(), sealedToken: z.string() }),
  run: (db, { sealedToken, tokenId, email }, steps) =>
    sendEmailChangeLink(db, { tokenId, email, token: unsealOrGiveUp(sealedToken) }, steps),
});

/** Tells the owner of an address that another account asked to move to it (the "email_change.attempt" job). */
export async function sendEmailChangeAttempt(_db: Database, input: { email: string; attemptedAt: string }): Promise<void> {
  const attemptedAt = new Date(input.attemptedAt);
  const sent = await sendEmail({
    to: input.email,
    subject: emailChangeAttemptSubject,
    react: createElement(EmailChangeAttemptEmail, {
      attemptedAt: formatEmailTime(attemptedAt),
      forgotPasswordUrl: `${env().APP_URL}/forgot-password`,
    }),
    idempotencyKey: `email-change-attempt/${emailFingerprint(input.email)}/${attemptedAt.getTime()}`,
  });
  if (!sent.ok) throw await failedSend(sent, "email_change.attempt_email_failed", {});
}

/** The "email_change.attempt" job. */
export const emailChangeAttemptJob = defineJob({
  kind: "email_change.attempt",
  payload: z.object({ email: z.string(), attemptedAt: z.string() }),
  run: (db, payload) => sendEmailChangeAttempt(db, payload),
});
