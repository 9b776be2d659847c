import "server-only";
import { createElement } from "react";
import { z } from "zod";
import type { Database } from "@/db/client";
import RegistrationAttemptEmail, { registrationAttemptSubject } from "@/emails/registration-attempt";
import { formatEmailTime } from "@/emails/layout";
import { registerUser } from "./create-account";
import { audit } from "../audit";
import { sendVerificationEmail } from "./verify-email";
import { env } from "../env";
import { failedSend } from "../jobs/errors";
import { defineJob, type Schedule } from "../jobs/definition";
import { enqueueJob } from "../jobs/queue";
import { RUN_ONCE, unsealOrGiveUp, type JobSteps } from "../jobs/steps";
import { seal } from "../jobs/seal";
import { sendEmail } from "../mail";
import { clientKey, requestContextShape, type RequestContext } from "../client-ip";
import { consumeRateLimit, type RateLimit } from "../rate-limit";
import { emailFingerprint } from "../tokens";
import { normalizeEmail } from "../validation/fields";

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
  const budget = await consumeRateLimit(db, REGISTER_IP_LIMIT, clientKey(input.ip));
  if (!budget.allowed) return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: budget.retryAfterSeconds };
  // The password waits in the job sealed (AES-256-GCM), never in the clear; the same write for every address.
  const payload = { email: input.email, sealedPassword: seal(input.password), name: input.name, ip: input.ip, userAgent: input.userAgent };
  await enqueueJob(db, registrationJob, payload, schedule);
  return { ok: true };
}

/**
 * The deferred half (the "registration.complete" job): a new address (or one whose earlier
 * registration was never confirmed) gets an account and a verification email; a confirmed one
 * stays unchanged and its owner is told someone tried. Both paths hash the password and render
 * one email, so the work after the answer costs the same CPU whether or not the address was
 * free. The account is created once per job; a failed send is thrown for the runner to retry.
 */
export async function completeRegistration(
  db: Database,
  input: { email: string; password: string; name?: string | undefined } & RequestContext,
  steps: JobSteps = RUN_ONCE,
): Promise<void> {
  const email = normalizeEmail(input.email);
  const context = { ip: input.ip, userAgent: input.userAgent };
  const outcome = await steps.once("register", async () => {
    const budget = await consumeRateLimit(db, REGISTER_EMAIL_LIMIT, emailFingerprint(email));
    if (!budget.allowed) return { outcome: "throttled", userId: null, attemptedAt: null };
    const created = await registerUser(db, { ...input, email });
    if (created.ok) return { outcome: "created", userId: created.userId, attemptedAt: null };
    // Pending deletion: the address answers as unknown elsewhere, so no "someone tried" email
    // (it would invite a sign-in that cannot work); the account stays as it is, cancellable.
    if (created.code === "DELETION_PENDING") {
      await audit(db, { event: "registration.deletion_pending", email, ...context });
      return { outcome: "deletion_pending", userId: null, attemptedAt: null };
    }
    await audit(db, { event: "registration.existing_email", email, ...context });
    return { outcome: "existing", userId: null, attemptedAt: new Date().toISOString() };
  });
  if (outcome.outcome === "created" && outcome.userId) {
    await sendVerificationEmail(db, { id: outcome.userId, email }, context, steps);
    return;
  }
  if (outcome.outcome !== "existing" || !outcome.attemptedAt) return;
  const config = env();
  const sent = await sendEmail({
    to: email,
    subject: registrationAttemptSubject,
    react: createElement(RegistrationAttemptEmail, {
      attemptedAt: formatEmailTime(new Date(outcome.attemptedAt)),
      ip: input.ip ?? "unknown",
      signInUrl: `${config.APP_URL}/login`,
      forgotPasswordUrl: `${config.APP_URL}/forgot-password`,
    }),
    // One key per attempt to register, the same on every retry of its email.
    idempotencyKey: `registration-attempt/${emailFingerprint(email)}/${new Date(outcome.attemptedAt).getTime()}`,
  });
  if (!sent.ok) throw await failedSend(sent, "registration.attempt_email_failed", {});
}

/** The "registration.complete" job: a registration's deferred half, its password sealed until then. */
export const registrationJob = defineJob({
  kind: "registration.complete",
  payload: z.object({ email: z.string(), sealedPassword: z.string(), name: z.string().optional(), ...requestContextShape }),
  run: (db, { sealedPassword, ...payload }, steps) =>
    completeRegistration(db, { ...payload, password: unsealOrGiveUp(sealedPassword) }, steps),
});
