import "server-only";
import { and, eq, sql } from "drizzle-orm";
import { createElement } from "react";
import { z } from "zod";
import type { Database } from "@/db/client";
import { emailVerificationTokens, users } from "@/db/schema";
import VerifyEmail, { verifyEmailSubject } from "@/emails/verify-email";
import { audit } from "../audit";
import { clientKey, requestContextShape, type RequestContext } from "../client-ip";
import { clearSignInFailures, countSignInAttempt } from "../auth/sign-in-throttle";
import { env } from "../env";
import { failedSend } from "../jobs/errors";
import { defineJob, type Schedule } from "../jobs/definition";
import { enqueueJob } from "../jobs/queue";
import { RUN_ONCE, type JobSteps } from "../jobs/steps";
import { sendEmail } from "../mail";
import { verifyDummyPassword, verifyPassword } from "../password-hashing";
import { consumeRateLimit, type RateLimit } from "../rate-limit";
import { auditLinkRefusal } from "../link-refusals";
import { consumeToken, lookUpToken, type TokenProblem } from "../single-use-tokens";
import { emailFingerprint, generateToken } from "../tokens";
import { maskEmail, normalizeEmail } from "../validation/fields";

export const VERIFICATION_TTL_HOURS = 24;
/** "Send the confirmation link again": emails to one address per hour (invisible to the asker). */
export const RESEND_VERIFICATION_LIMIT: RateLimit = { name: "verify-resend", max: 3, windowSeconds: 60 * 60 };
/** "Send the confirmation link again": requests from one IP per hour. */
export const RESEND_VERIFICATION_IP_LIMIT: RateLimit = { name: "verify-resend-ip", max: 10, windowSeconds: 60 * 60 };

function verificationEmail(token: string) {
  return createElement(VerifyEmail, { verifyUrl: `${env().APP_URL}/verify-email/${token}`, expiresInHours: VERIFICATION_TTL_HOURS });
}

/**
 * Creates a verification token for the user's current address and emails the link. The token
 * is made once per job and kept sealed between attempts; a failed attempt is audited, then
 * thrown for the runner to retry or abandon.
 */
export async function sendVerificationEmail(
  db: Database,
  user: { id: string; email: string },
  context: RequestContext,
  steps: JobSteps = RUN_ONCE,
): Promise<void> {
  const link = await steps.once(
    "verify-link",
    async () => {
      const { token, hash } = generateToken();
      const [row] = await db
        .insert(emailVerificationTokens)
        .values({
          userId: user.id,
          email: user.email,
          tokenHash: hash,
          expiresAt: new Date(Date.now() + VERIFICATION_TTL_HOURS * 60 * 60 * 1000),
          requestIp: context.ip,
          requestUserAgent: context.userAgent,
        })
        .returning({ id: emailVerificationTokens.id });
      if (!row) throw new Error("token insert returned no row");
      return { token, tokenId: row.id };
    },
    ["token"],
  );
  const sent = await sendEmail({
    to: user.email,
    subject: verifyEmailSubject,
    react: verificationEmail(link.token),
    idempotencyKey: `verify-email/${link.tokenId}`,
  });
  const entry = { userId: user.id, ip: context.ip, userAgent: context.userAgent };
  if (!sent.ok) {
    throw await failedSend(sent, "email_verification.email_failed", { userId: user.id }, () =>
      audit(db, { event: "email_verification.email_failed", ...entry, details: { reason: sent.reason } }),
    );
  }
  await audit(db, { event: "email_verification.sent", ...entry });
}

export type VerificationInspection = { status: "valid"; maskedEmail: string } | { status: TokenProblem };

type FoundVerification = { status: "valid"; userId: string; sentTo: string; passwordHash: string | null } | { status: TokenProblem };

/**
 * A link's state, the address it was sent to and the account's password hash, read together
 * (a replacing registration deletes the link and changes the hash at once); "invalid" once the
 * account's address changed.
 */
async function findVerification(db: Database, token: string): Promise<FoundVerification> {
  const found = await lookUpToken(db, emailVerificationTokens, token);
  if (found.status !== "valid") return { status: found.status };
  const [row] = await db
    .select({ sentTo: emailVerificationTokens.email, current: users.email, passwordHash: users.passwordHash })
    .from(emailVerificationTokens)
    .innerJoin(users, eq(users.id, emailVerificationTokens.userId))
    .where(eq(emailVerificationTokens.id, found.id));
  if (!row || row.sentTo !== row.current) return { status: "invalid" };
  return { status: "valid", userId: found.userId, sentTo: row.sentTo, passwordHash: row.passwordHash };
}

/**
 * What a verification link is, without consuming it (mail scanners open links). A link sent to
 * an address the account no longer has is "invalid".
 */
export async function inspectVerificationToken(db: Database, token: string): Promise<VerificationInspection> {
  const found = await findVerification(db, token);
  return found.status === "valid" ? { status: "valid", maskedEmail: maskEmail(found.sentTo) } : { status: found.status };
}

export type VerifyEmailResult =
  | { ok: true }
  | { ok: false; code: "TOKEN_PROBLEM"; problem: TokenProblem }
  | { ok: false; code: "WRONG_PASSWORD" }
  | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

/**
 * Confirms an address with its link and the password chosen at registration: single use, only
 * for the address it was sent to, and only together with that password, so the owner of an
 * address is never handed an account someone else set up. A wrong password leaves the link
 * valid; guesses count against the sign-in limits of the address.
 */
export async function verifyEmail(db: Database, input: { token: string; password: string } & RequestContext): Promise<VerifyEmailResult> {
  const context = { ip: input.ip, userAgent: input.userAgent };
  const found = await findVerification(db, input.token);
  if (found.status !== "valid") {
    await auditLinkRefusal(db, "email_verification", found.status, context);
    return { ok: false, code: "TOKEN_PROBLEM", problem: found.status };
  }

  // The link makes this page a password oracle for the account, so it shares the sign-in
  // budget of the address (counted before the check): holding the link buys no extra guesses.
  const attempt = { email: found.sentTo, ip: input.ip };
  const budget = await countSignInAttempt(db, attempt);
  if (!budget.allowed) {
    await audit(db, { event: "email_verification.throttled", userId: found.userId, ...context, details: { limit: budget.limit } });
    return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: budget.retryAfterSeconds };
  }
  const checkedHash = found.passwordHash;
  const matches = checkedHash ? await verifyPassword(checkedHash, input.password) : await verifyDummyPassword(input.password);
  if (!checkedHash || !matches) {
    await audit(db, { event: "email_verification.wrong_password", userId: found.userId, ...context });
    return { ok: false, code: "WRONG_PASSWORD" };
  }

  const outcome = await db
    .transaction(async (tx) => {
      // The user row first, as a replacing registration locks it (lib/accounts/create-account.ts): the two
      // serialise. Only while the password is still the one just checked: a registration that
      // replaced this one in between must not be confirmed with the earlier password.
      const [verified] = await tx
        .update(users)
        .set({ emailVerified: sql`coalesce(${users.emailVerified}, now())` })
        .where(and(eq(users.id, found.userId), eq(users.email, found.sentTo), eq(users.passwordHash, checkedHash)))
        .returning({ id: users.id });
      if (!verified) throw new Superseded();
      if (!(await consumeToken(tx, emailVerificationTokens, input.token))) throw new Superseded();
      await audit(tx, { event: "email.verified", userId: verified.id, ...context });
      return "verified" as const;
    })
    .catch((error: unknown) => {
      if (error instanceof Superseded) return "superseded" as const;
      throw error;
    });
  if (outcome === "verified") {
    await clearSignInFailures(db, attempt);
    return { ok: true };
  }
  // Lost a race: another confirmation used the link, it expired a moment ago, or the address or
  // password changed meanwhile. Say which, from the rows as they are now.
  const now = await findVerification(db, input.token);
  if (now.status !== "valid") {
    await auditLinkRefusal(db, "email_verification", now.status, { ...context, userId: found.userId });
    return { ok: false, code: "TOKEN_PROBLEM", problem: now.status };
  }
  return { ok: false, code: "WRONG_PASSWORD" };
}

/** Rolls a confirmation back when the link or the account changed under it. */
class Superseded extends Error {}

export type RequestVerificationEmailResult = { ok: true } | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

/**
 * "Send the confirmation link again", for anyone who gives an address: the answer depends only
 * on the caller's IP budget; whether the address has an account waiting for confirmation is
 * looked at after the response.
 */
export async function requestVerificationEmail(
  db: Database,
  input: { email: string } & RequestContext,
  schedule: Schedule,
): Promise<RequestVerificationEmailResult> {
  const budget = await consumeRateLimit(db, RESEND_VERIFICATION_IP_LIMIT, clientKey(input.ip));
  if (!budget.allowed) return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: budget.retryAfterSeconds };
  // The same one-row write for every address; the job decides what the address is.
  await enqueueJob(db, verificationRequestJob, { email: input.email, ip: input.ip, userAgent: input.userAgent }, schedule);
  return { ok: true };
}

/**
 * The deferred half of a resend (the "email_verification.request" job): a new link only for an
 * unconfirmed account. The limit and look-up are done once per job; a failed send is thrown
 * for the runner to retry.
 */
export async function deliverVerificationEmail(
  db: Database,
  input: { email: string } & RequestContext,
  steps: JobSteps = RUN_ONCE,
): Promise<void> {
  const email = normalizeEmail(input.email);
  const decided = await steps.once("decide", async () => {
    // Counted for every address, existing or not, and invisible to the asker.
    const budget = await consumeRateLimit(db, RESEND_VERIFICATION_LIMIT, emailFingerprint(email));
    if (!budget.allowed) return { userId: null };
    const user = await db.query.users.findFirst({ where: eq(users.email, email), columns: { id: true, emailVerified: true } });
    return { userId: user && !user.emailVerified ? user.id : null };
  });
  // No stand-in work for other addresses: an email costs microseconds (lib/mail/templates.ts).
  if (decided.userId) await sendVerificationEmail(db, { id: decided.userId, email }, { ip: input.ip, userAgent: input.userAgent }, steps);
}

/** The "email_verification.request" job: a resend's deferred half. */
export const verificationRequestJob = defineJob({
  kind: "email_verification.request",
  payload: z.object({ email: z.string(), ...requestContextShape }),
  run: deliverVerificationEmail,
});
