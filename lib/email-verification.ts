import "server-only";
import { and, eq, sql } from "drizzle-orm";
import { createElement } from "react";
import type { Database } from "@/db/client";
import { emailVerificationTokens, users } from "@/db/schema";
import VerifyEmail, { verifyEmailSubject } from "@/emails/verify-email";
import { audit } from "./audit";
import { env } from "./env";
import { sendFailure } from "./jobs/errors";
import { enqueueJob, RUN_ONCE, type JobSteps } from "./jobs/queue";
import { log } from "./log";
import { sendEmail } from "./mail";
import type { RequestContext, Schedule } from "./password-reset";
import { consumeRateLimit, type RateLimit } from "./rate-limit";
import { consumeToken, lookUpToken, type TokenProblem } from "./single-use-tokens";
import { generateToken } from "./tokens";
import { maskEmail } from "./validation/fields";

export const VERIFICATION_TTL_HOURS = 24;
/** "Resend verification email": 3 an hour per account. */
export const RESEND_VERIFICATION_LIMIT: RateLimit = { name: "verify-resend", max: 3, windowSeconds: 60 * 60 };

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
  const config = env();
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
    react: createElement(VerifyEmail, { verifyUrl: `${config.APP_URL}/verify-email/${link.token}`, expiresInHours: VERIFICATION_TTL_HOURS }),
    idempotencyKey: `verify-email/${link.tokenId}`,
  });
  const entry = { userId: user.id, ip: context.ip, userAgent: context.userAgent };
  if (sent.ok) {
    await audit(db, { event: "email_verification.sent", ...entry });
    return;
  }
  if (!sent.paced) {
    log("error", "email_verification.email_failed", { userId: user.id, reason: sent.reason });
    await audit(db, { event: "email_verification.email_failed", ...entry, details: { reason: sent.reason } });
  }
  throw sendFailure(sent);
}

export type VerificationInspection = { status: "valid"; maskedEmail: string } | { status: TokenProblem };

/** A link's state and the address it was sent to; "invalid" once the account's address changed. */
async function findVerification(db: Database, token: string): Promise<{ status: "valid"; sentTo: string } | { status: TokenProblem }> {
  const found = await lookUpToken(db, emailVerificationTokens, token);
  if (found.status !== "valid") return { status: found.status };
  const [row] = await db
    .select({ sentTo: emailVerificationTokens.email, current: users.email })
    .from(emailVerificationTokens)
    .innerJoin(users, eq(users.id, emailVerificationTokens.userId))
    .where(eq(emailVerificationTokens.id, found.id));
  if (!row || row.sentTo !== row.current) return { status: "invalid" };
  return { status: "valid", sentTo: row.sentTo };
}

/**
 * What a verification link is, without consuming it (mail scanners open links). A link sent to
 * an address the account no longer has is "invalid".
 */
export async function inspectVerificationToken(db: Database, token: string): Promise<VerificationInspection> {
  const found = await findVerification(db, token);
  return found.status === "valid" ? { status: "valid", maskedEmail: maskEmail(found.sentTo) } : found;
}

export type VerifyEmailResult = { ok: true } | { ok: false; problem: TokenProblem };

/** Confirms an address with its link: single use, and only for the address it was sent to. */
export async function verifyEmail(db: Database, token: string, context: RequestContext): Promise<VerifyEmailResult> {
  const found = await findVerification(db, token);
  if (found.status !== "valid") return { ok: false, problem: found.status };
  const outcome = await db.transaction(async (tx) => {
    const consumed = await consumeToken(tx, emailVerificationTokens, token);
    if (!consumed) return null;
    const [verified] = await tx
      .update(users)
      .set({ emailVerified: sql`coalesce(${users.emailVerified}, now())` })
      .where(and(eq(users.id, consumed.userId), eq(users.email, found.sentTo)))
      .returning({ id: users.id });
    // The address changed between the check and the update: undo the consumption.
    if (!verified) throw new AddressChanged();
    await audit(tx, { event: "email.verified", userId: verified.id, ip: context.ip, userAgent: context.userAgent });
    return verified;
  }).catch((error: unknown) => {
    if (error instanceof AddressChanged) return "address-changed" as const;
    throw error;
  });
  if (outcome === "address-changed") return { ok: false, problem: "invalid" };
  if (outcome) return { ok: true };
  // Lost a race with another confirmation, or expired a moment ago.
  const now = await lookUpToken(db, emailVerificationTokens, token);
  return { ok: false, problem: now.status === "valid" ? "used" : now.status };
}

class AddressChanged extends Error {}

export type ResendVerificationResult =
  | { ok: true }
  | { ok: false; code: "ALREADY_VERIFIED" }
  | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

/** "Resend verification email" for a signed-in user; the email itself goes out after the response. */
export async function resendVerificationEmail(
  db: Database,
  userId: string,
  context: RequestContext,
  schedule: Schedule,
): Promise<ResendVerificationResult> {
  const user = await db.query.users.findFirst({ where: eq(users.id, userId), columns: { id: true, email: true, emailVerified: true } });
  if (!user) throw new Error("signed-in user not found");
  if (user.emailVerified) return { ok: false, code: "ALREADY_VERIFIED" };
  const budget = await consumeRateLimit(db, RESEND_VERIFICATION_LIMIT, user.id);
  if (!budget.allowed) return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: budget.retryAfterSeconds };
  await enqueueJob(db, "email_verification.send", { userId: user.id, email: user.email, ip: context.ip, userAgent: context.userAgent }, schedule);
  return { ok: true };
}
