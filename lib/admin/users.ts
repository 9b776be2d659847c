import "server-only";
import { and, desc, eq, max } from "drizzle-orm";
import type { Database } from "@/db/client";
import { auditEvents, users, type AuditEvent } from "@/db/schema";
import { changeCredentials } from "../credential-change";
import { verificationRequestJob } from "../accounts/verify-email";
import { audit } from "../audit";
import { nextCredentialsVersion } from "../auth/sessions";
import { deleteUserSessions, listUserSessions, type UserSession } from "../auth/user-sessions";
import type { RequestContext } from "../client-ip";
import { enqueueJob } from "../jobs/queue";
import type { Schedule } from "../jobs/definition";
import { twoFactorState, type TwoFactorState } from "../second-factor/enrolment";
import { forcedResetLinkJob } from "../recovery/jobs";
import { lockUser } from "../user-lock";
import { normalizeEmail } from "../validation/fields";

/** How many of an account's audit events its admin page shows. */
export const ACCOUNT_AUDIT_EVENTS = 50;

/** Who does an admin action, from where: audited with every action. */
export type AdminRequest = { adminId: string } & RequestContext;

/** What the admin account page shows about one account. */
export interface AccountOverview {
  id: string;
  email: string;
  confirmed: boolean;
  createdAt: Date;
  lastSignInAt: Date | null;
  passwordChangedAt: Date | null;
  passwordResetForcedAt: Date | null;
  hasPassword: boolean;
  /** When the account was deleted (by its owner or an admin): it answers as unknown, and is erased once the grace period ends. */
  deletionRequestedAt: Date | null;
  /** Two-factor authentication: on or off, and how many recovery codes are unused. */
  twoFactor: TwoFactorState;
  sessions: UserSession[];
  events: AuditEvent[];
}

/**
 * The account with exactly this address (after normalising), or null. No listing and no
 * prefix search: an admin finds an account only by knowing its address. Each look-up is
 * audited with the admin's id, found or not.
 */
export async function findAccountByEmail(db: Database, email: string, request: AdminRequest): Promise<AccountOverview | null> {
  const address = normalizeEmail(email);
  const user = await db.query.users.findFirst({ where: eq(users.email, address) });
  await audit(db, {
    event: "admin.user_looked_up",
    userId: user?.id ?? null,
    email: address,
    ip: request.ip,
    userAgent: request.userAgent,
    details: { admin_id: request.adminId, found: Boolean(user) },
  });
  if (!user) return null;
  return describeAccount(db, user.id);
}

/**
 * The admin account page of a user id (the page's URL), or null. Audited like a look-up by
 * address, found or not: knowing an id must not open an account unrecorded.
 */
export async function openAccountById(db: Database, userId: string, request: AdminRequest): Promise<AccountOverview | null> {
  const user = await db.query.users.findFirst({ where: eq(users.id, userId), columns: { id: true } });
  await audit(db, {
    event: "admin.user_opened",
    userId: user?.id ?? null,
    ip: request.ip,
    userAgent: request.userAgent,
    details: { admin_id: request.adminId, found: Boolean(user), ...(user ? {} : { requested_id: userId }) },
  });
  if (!user) return null;
  return describeAccount(db, user.id);
}

/** The account page's facts for a user id, or null. */
export async function describeAccount(db: Database, userId: string): Promise<AccountOverview | null> {
  const user = await db.query.users.findFirst({ where: eq(users.id, userId) });
  if (!user) return null;
  const [signIn] = await db
    .select({ at: max(auditEvents.createdAt) })
    .from(auditEvents)
    .where(and(eq(auditEvents.userId, user.id), eq(auditEvents.event, "user.signed_in")));
  const events = await db
    .select()
    .from(auditEvents)
    .where(eq(auditEvents.userId, user.id))
    .orderBy(desc(auditEvents.createdAt), desc(auditEvents.id))
    .limit(ACCOUNT_AUDIT_EVENTS);
  return {
    id: user.id,
    email: user.email,
    confirmed: user.emailVerified !== null,
    createdAt: user.createdAt,
    // Sign-ins are audited rows (kept AUDIT_RETENTION_DAYS), so an older one shows as none.
    lastSignInAt: signIn?.at ? new Date(signIn.at) : null,
    passwordChangedAt: user.passwordChangedAt,
    passwordResetForcedAt: user.passwordResetForcedAt,
    hasPassword: user.passwordHash !== null,
    deletionRequestedAt: user.deletionRequestedAt,
    twoFactor: await twoFactorState(db, user.id),
    sessions: await listUserSessions(db, user.id),
    events,
  };
}

/**
 * "Sign out everywhere": every session of the user ends now, including one whose sign-in is
 * still in flight (the credentials version is raised in the same UPDATE, lib/auth/sessions.ts).
 * The password keeps working. Returns how many session rows ended; null for an unknown user.
 */
export async function signOutEverywhere(db: Database, userId: string, request: AdminRequest): Promise<number | null> {
  return db.transaction(async (tx) => {
    if (!(await lockUser(tx, userId))) return null;
    await tx.update(users).set({ credentialsVersion: nextCredentialsVersion() }).where(eq(users.id, userId));
    const count = await deleteUserSessions(tx, userId);
    await audit(tx, {
      event: "admin.sessions_revoked",
      userId,
      ip: request.ip,
      userAgent: request.userAgent,
      details: { admin_id: request.adminId, count },
    });
    return count;
  });
}

export type ForceResetResult = { ok: true; sessionsEnded: number } | { ok: false; code: "NOT_FOUND" };

/**
 * "Force password reset": in one transaction the password stops working (hash removed,
 * credentials version raised, as "This wasn't me" does), every session ends and every
 * outstanding reset link dies; then a fresh reset link is emailed as a durable job. The old
 * hash is kept only so that sign-in can tell the owner why their password stopped working
 * (lib/auth/credentials.ts); the next completed reset erases it.
 */
export async function forcePasswordReset(
  db: Database,
  userId: string,
  request: AdminRequest,
  schedule: Schedule,
): Promise<ForceResetResult> {
  const changed = await db.transaction(async (tx) => {
    if (!(await lockUser(tx, userId))) return null;
    return changeCredentials(
      tx,
      db,
      {
        userId,
        password: { locked: "forced" },
        event: "admin.password_reset_forced",
        reason: "admin_forced_reset",
        adminId: request.adminId,
        // In the transaction: the owner's fresh reset link commits with the lock-out.
        notice: { job: forcedResetLinkJob, payload: (user, context) => ({ userId: user.id, email: user.email, ...context }) },
        ip: request.ip,
        userAgent: request.userAgent,
      },
      schedule,
    );
  });
  if (!changed) return { ok: false, code: "NOT_FOUND" };
  return { ok: true, sessionsEnded: changed.sessionsEnded };
}

export type ResendVerificationResult = { ok: true } | { ok: false; code: "NOT_FOUND" | "ALREADY_CONFIRMED" };

/**
 * "Resend verification email" for an unconfirmed account. Goes through the same job as the
 * public form, so the per-address limit holds for admins too.
 */
export async function resendVerificationForUser(
  db: Database,
  userId: string,
  request: AdminRequest,
  schedule: Schedule,
): Promise<ResendVerificationResult> {
  const user = await db.query.users.findFirst({ where: eq(users.id, userId), columns: { id: true, email: true, emailVerified: true } });
  if (!user) return { ok: false, code: "NOT_FOUND" };
  if (user.emailVerified) return { ok: false, code: "ALREADY_CONFIRMED" };
  await audit(db, {
    event: "admin.verification_resent",
    userId: user.id,
    ip: request.ip,
    userAgent: request.userAgent,
    details: { admin_id: request.adminId },
  });
  await enqueueJob(db, verificationRequestJob, { email: user.email, ip: request.ip, userAgent: request.userAgent }, schedule);
  return { ok: true };
}
