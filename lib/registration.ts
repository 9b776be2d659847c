import "server-only";
import { createElement } from "react";
import type { Database } from "@/db/client";
import RegistrationAttemptEmail, { registrationAttemptSubject } from "@/emails/registration-attempt";
import { registerUser } from "./accounts";
import { audit } from "./audit";
import { sendVerificationEmail } from "./email-verification";
import { env } from "./env";
import { log } from "./log";
import { sendEmail } from "./mail";
import type { RequestContext, Schedule } from "./password-reset";
import { consumeRateLimit, type RateLimit } from "./rate-limit";
import { emailFingerprint } from "./tokens";
import { normalizeEmail } from "./validation/fields";

/** Registrations accepted from one IP per hour. */
export const REGISTER_IP_LIMIT: RateLimit = { name: "register-ip", max: 10, windowSeconds: 60 * 60 };
/** Emails (verification or "someone tried") sent to one address per hour by registrations. */
export const REGISTER_EMAIL_LIMIT: RateLimit = { name: "register-email", max: 3, windowSeconds: 60 * 60 };

export type RequestRegistrationResult = { ok: true } | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

/**
 * Accepts a registration. The answer is the same whether or not the address already has an
 * account: creating the account (or warning the existing owner) happens after the response.
 */
export async function requestRegistration(
  db: Database,
  input: { email: string; password: string; name?: string | undefined } & RequestContext,
  schedule: Schedule,
): Promise<RequestRegistrationResult> {
  if (input.ip) {
    const budget = await consumeRateLimit(db, REGISTER_IP_LIMIT, input.ip);
    if (!budget.allowed) return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: budget.retryAfterSeconds };
  }
  schedule(() => completeRegistration(db, input));
  return { ok: true };
}

/**
 * The deferred half, kept in this one function so it can move to a job queue: a new address
 * (or one whose earlier registration was never confirmed) gets an account and a verification
 * email; a confirmed one stays unchanged and its owner is told someone tried. Both paths hash
 * the password and render one email, so the work after the answer costs the same CPU whether
 * or not the address was free. Never throws.
 */
export async function completeRegistration(
  db: Database,
  input: { email: string; password: string; name?: string | undefined } & RequestContext,
): Promise<void> {
  const email = normalizeEmail(input.email);
  const context = { ip: input.ip, userAgent: input.userAgent };
  try {
    const budget = await consumeRateLimit(db, REGISTER_EMAIL_LIMIT, emailFingerprint(email));
    if (!budget.allowed) return;
    const created = await registerUser(db, { ...input, email });
    if (created.ok) {
      await sendVerificationEmail(db, { id: created.userId, email }, context);
      return;
    }
    await audit(db, { event: "registration.existing_email", email, ...context });
    const config = env();
    const sent = await sendEmail({
      to: email,
      subject: registrationAttemptSubject,
      react: createElement(RegistrationAttemptEmail, {
        attemptedAt: new Date(),
        ip: input.ip,
        signInUrl: `${config.APP_URL}/login`,
        forgotPasswordUrl: `${config.APP_URL}/forgot-password`,
      }),
      idempotencyKey: `registration-attempt/${emailFingerprint(email)}/${Date.now()}`,
    });
    if (!sent.ok) log("error", "registration.attempt_email_failed", { reason: sent.reason });
  } catch (error) {
    log("error", "registration.failed", {}, error);
  }
}
