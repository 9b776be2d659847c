import "server-only";
import { and, eq, isNull, ne, sql } from "drizzle-orm";
import type { Database, Transaction } from "@/db/client";
import { recoveryCodes, sessions, twoFactorChallenges, users } from "@/db/schema";
import { audit, type AuditEntry, type AuditEventName } from "../audit";
import { isIdentityConfirmed, type ConfirmationNeeded, type ConfirmingSession } from "../auth/confirm-identity";
import type { RequestContext } from "../client-ip";
import type { Schedule } from "../jobs/definition";
import { seal, unsealWithAge } from "../jobs/seal";
import { lockUser } from "../user-lock";
import { countSecondFactorAttempt, settleAttempt, type CodeRefusal } from "./check";
import { enqueueTwoFactorNotice, type TwoFactorChange } from "./notify";
import { recoveryCodesLeft, storeRecoveryCodes } from "./recovery-codes";
import { formatSetupKey, matchingTotpStep, newTotpKey, qrCodeSvg, totpUri } from "./totp";

/** How long a key shown for enrolment may still be confirmed. */
export const ENROLMENT_TTL_MINUTES = 30;

export interface TwoFactorState {
  enabled: boolean;
  enabledAt: Date | null;
  recoveryCodesLeft: number;
}

/** Whether the user has a second factor, since when, and how many recovery codes are unused. */
export async function twoFactorState(db: Database, userId: string): Promise<TwoFactorState> {
  const user = await db.query.users.findFirst({ where: eq(users.id, userId), columns: { twoFactorEnabledAt: true } });
  const enabledAt = user?.twoFactorEnabledAt ?? null;
  return { enabled: enabledAt !== null, enabledAt, recoveryCodesLeft: enabledAt ? await recoveryCodesLeft(db, userId) : 0 };
}

/** True when the user must pass a second factor (sign-in, reset). */
export async function hasTwoFactor(db: Database | Transaction, userId: string): Promise<boolean> {
  const user = await db.query.users.findFirst({ where: eq(users.id, userId), columns: { twoFactorEnabledAt: true } });
  return Boolean(user?.twoFactorEnabledAt);
}

export type EnrolmentOffer =
  { ok: true; setupKey: string; uri: string; qrSvg: string } | { ok: false; code: "ALREADY_ENABLED" } | ConfirmationNeeded;

/**
 * The key to enrol, with its QR code: the pending key when one was offered within
 * ENROLMENT_TTL_MINUTES (a reload shows the same key), a new one otherwise. Only to a session
 * that confirmed it's the owner ("Confirm it's you"): whoever reads the key can enrol it.
 */
export async function offerEnrolment(db: Database, user: { id: string; email: string; sessionId: string }): Promise<EnrolmentOffer> {
  if (!(await isIdentityConfirmed(db, { userId: user.id, sessionId: user.sessionId }))) return { ok: false, code: "CONFIRMATION_NEEDED" };
  const row = await db.query.users.findFirst({
    where: eq(users.id, user.id),
    columns: { twoFactorEnabledAt: true, twoFactorPendingSecret: true, twoFactorPendingAt: true },
  });
  if (!row) throw new Error(`no user ${user.id}`);
  if (row.twoFactorEnabledAt) return { ok: false, code: "ALREADY_ENABLED" };
  let key: string | null = null;
  const fresh = row.twoFactorPendingAt && Date.now() - row.twoFactorPendingAt.getTime() < (ENROLMENT_TTL_MINUTES - 5) * 60_000;
  if (row.twoFactorPendingSecret && fresh) {
    try {
      key = unsealWithAge(row.twoFactorPendingSecret, "two-factor").plain;
    } catch {
      key = null;
    }
  }
  if (!key) {
    key = newTotpKey();
    await db
      .update(users)
      .set({ twoFactorPendingSecret: seal(key, "two-factor"), twoFactorPendingAt: sql`now()` })
      .where(eq(users.id, user.id));
  }
  const uri = totpUri(key, user.email);
  return { ok: true, setupKey: formatSetupKey(key), uri, qrSvg: await qrCodeSvg(uri) };
}

export type ConfirmEnrolmentResult =
  | { ok: true; recoveryCodes: string[]; otherSessionsEnded: number }
  | CodeRefusal
  | ConfirmationNeeded
  | { ok: false; code: "ENROLMENT_EXPIRED" | "ALREADY_ENABLED" };

/**
 * Turns two-factor authentication on once `code` proves the app holds the offered key, for a
 * session that confirmed it's the owner. In the same transaction the account's other sessions
 * that never passed a second factor end (a password alone no longer signs in), and this one
 * is marked as having passed it. Returns the recovery codes, which exist in the clear only in
 * this answer, and how many other sessions ended.
 */
export async function confirmEnrolment(
  db: Database,
  input: ConfirmingSession & { code: string } & RequestContext,
  schedule: Schedule,
): Promise<ConfirmEnrolmentResult> {
  const budget = await countSecondFactorAttempt(db, input.userId, input);
  if (!budget.ok) return budget;
  const outcome = await db.transaction(async (tx): Promise<ConfirmEnrolmentResult> => {
    await lockUser(tx, input.userId);
    if (!(await isIdentityConfirmed(tx, input))) return { ok: false, code: "CONFIRMATION_NEEDED" };
    const row = await tx.query.users.findFirst({
      where: eq(users.id, input.userId),
      columns: { email: true, twoFactorEnabledAt: true, twoFactorPendingSecret: true, twoFactorPendingAt: true },
    });
    if (!row) throw new Error(`no user ${input.userId}`);
    if (row.twoFactorEnabledAt) return { ok: false, code: "ALREADY_ENABLED" };
    const expired =
      !row.twoFactorPendingSecret ||
      !row.twoFactorPendingAt ||
      Date.now() - row.twoFactorPendingAt.getTime() > ENROLMENT_TTL_MINUTES * 60_000;
    if (expired) return { ok: false, code: "ENROLMENT_EXPIRED" };
    const key = unsealWithAge(row.twoFactorPendingSecret!, "two-factor").plain;
    const step = matchingTotpStep(key, input.code);
    if (step === null) return { ok: false, code: "INVALID_CODE" };
    await tx
      .update(users)
      .set({
        twoFactorSecret: seal(key, "two-factor"),
        twoFactorEnabledAt: sql`now()`,
        twoFactorLastStep: step,
        twoFactorPendingSecret: null,
        twoFactorPendingAt: null,
      })
      .where(eq(users.id, input.userId));
    const codes = await storeRecoveryCodes(tx, input.userId);
    await audit(tx, { event: "two_factor.enabled", userId: input.userId, ip: input.ip, userAgent: input.userAgent });
    const otherSessionsEnded = await endPasswordOnlySessions(tx, input);
    await enqueueTwoFactorNotice(db, tx, schedule, {
      userId: input.userId,
      email: row.email,
      change: "enabled",
      ip: input.ip,
      userAgent: input.userAgent,
    });
    return { ok: true, recoveryCodes: codes, otherSessionsEnded };
  });
  await settleAttempt(db, input.userId, outcome, input);
  return outcome;
}

/**
 * Turning two-factor on: the user's other sessions that never passed a second factor end (a
 * stolen cookie of a password-only sign-in must not outlive the new factor), audited; this
 * session, which just entered a code of the new factor, is marked as having passed one.
 */
async function endPasswordOnlySessions(tx: Transaction, input: ConfirmingSession & RequestContext): Promise<number> {
  const ended = await tx
    .delete(sessions)
    .where(and(eq(sessions.userId, input.userId), ne(sessions.id, input.sessionId), isNull(sessions.secondFactorAt)))
    .returning({ id: sessions.id });
  if (ended.length > 0) {
    await audit(tx, {
      event: "sessions.revoked",
      userId: input.userId,
      ip: input.ip,
      userAgent: input.userAgent,
      details: { count: ended.length, reason: "two_factor_enabled" },
    });
  }
  await tx
    .update(sessions)
    .set({ secondFactorAt: sql`now()` })
    .where(and(eq(sessions.id, input.sessionId), eq(sessions.userId, input.userId)));
  return ended.length;
}

/**
 * Replaces every recovery code of a user with two-factor on, for a session that confirmed it's
 * the owner; audited and emailed to the owner in the same transaction. Returns the new codes
 * (shown once).
 */
export async function replaceRecoveryCodes(
  db: Database,
  input: ConfirmingSession & RequestContext,
  schedule: Schedule,
): Promise<{ ok: true; recoveryCodes: string[] } | ConfirmationNeeded | { ok: false; code: "NOT_ENABLED" }> {
  return db.transaction(async (tx) => {
    await lockUser(tx, input.userId);
    if (!(await isIdentityConfirmed(tx, input))) return { ok: false, code: "CONFIRMATION_NEEDED" } as const;
    const user = await tx.query.users.findFirst({ where: eq(users.id, input.userId), columns: { email: true, twoFactorEnabledAt: true } });
    if (!user?.twoFactorEnabledAt) return { ok: false, code: "NOT_ENABLED" } as const;
    const codes = await storeRecoveryCodes(tx, input.userId);
    await audit(tx, { event: "two_factor.recovery_codes_replaced", userId: input.userId, ip: input.ip, userAgent: input.userAgent });
    await enqueueTwoFactorNotice(db, tx, schedule, {
      userId: input.userId,
      email: user.email,
      change: "recovery_codes_replaced",
      recoveryCodesLeft: codes.length,
      ip: input.ip,
      userAgent: input.userAgent,
    });
    return { ok: true, recoveryCodes: codes } as const;
  });
}

export type DisableTwoFactorResult = { ok: true } | ConfirmationNeeded | { ok: false; code: "NOT_ENABLED" };

/**
 * Turns two-factor authentication off, for a session that confirmed it's the owner ("Confirm
 * it's you": the password and a code, within REAUTH_MINUTES).
 */
export async function disableTwoFactor(
  db: Database,
  input: ConfirmingSession & RequestContext,
  schedule: Schedule,
): Promise<DisableTwoFactorResult> {
  return db.transaction(async (tx): Promise<DisableTwoFactorResult> => {
    await lockUser(tx, input.userId);
    if (!(await isIdentityConfirmed(tx, input))) return { ok: false, code: "CONFIRMATION_NEEDED" };
    if (!(await hasTwoFactor(tx, input.userId))) return { ok: false, code: "NOT_ENABLED" };
    await turnOff(db, tx, schedule, input, { event: "two_factor.disabled", details: { method: "confirmed_session" }, change: "disabled" });
    return { ok: true };
  });
}

/**
 * An administrator removes the second factor of a user who lost both the device and the
 * recovery codes: audited with the admin's id, and the user is emailed.
 */
export async function removeTwoFactorByAdmin(
  db: Database,
  input: { userId: string; adminId: string } & RequestContext,
  schedule: Schedule,
): Promise<{ ok: true } | { ok: false; code: "NOT_ENABLED" }> {
  return db.transaction(async (tx) => {
    if (!(await lockUser(tx, input.userId))) return { ok: false, code: "NOT_ENABLED" } as const;
    if (!(await hasTwoFactor(tx, input.userId))) return { ok: false, code: "NOT_ENABLED" } as const;
    const why = { event: "admin.two_factor_removed", details: { admin_id: input.adminId }, change: "removed_by_admin" } as const;
    await turnOff(db, tx, schedule, input, why);
    return { ok: true } as const;
  });
}

/**
 * Turns two-factor authentication off in `tx`: the key, the codes and any pending sign-in step
 * gone, then `why`'s audit row and the owner's notice, which commit with it.
 */
async function turnOff(
  db: Database,
  tx: Transaction,
  schedule: Schedule,
  input: { userId: string } & RequestContext,
  why: { event: AuditEventName; details: AuditEntry["details"]; change: TwoFactorChange },
): Promise<void> {
  const { userId } = input;
  const [row] = await tx
    .update(users)
    .set({
      twoFactorSecret: null,
      twoFactorEnabledAt: null,
      twoFactorLastStep: null,
      twoFactorPendingSecret: null,
      twoFactorPendingAt: null,
    })
    .where(eq(users.id, userId))
    .returning({ email: users.email });
  await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
  // A pending sign-in must not finish against a factor that no longer exists.
  await tx
    .update(twoFactorChallenges)
    .set({ usedAt: sql`now()` })
    .where(and(eq(twoFactorChallenges.userId, userId), isNull(twoFactorChallenges.usedAt)));
  if (!row) throw new Error(`no user ${userId}`);
  await audit(tx, { event: why.event, userId, ip: input.ip, userAgent: input.userAgent, details: why.details });
  await enqueueTwoFactorNotice(db, tx, schedule, {
    userId,
    email: row.email,
    change: why.change,
    ip: input.ip,
    userAgent: input.userAgent,
  });
}
