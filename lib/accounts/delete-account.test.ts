import { and, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import {
  accountDeletionCancelTokens,
  auditEvents,
  jobs,
  passkeys,
  passwordResetTokens,
  recoveryCodes,
  sessions,
  users,
  webauthnChallenges,
} from "@/db/schema";
import { accountDeletionSubject } from "@/emails/account-deletion";
import { registrationAttemptSubject } from "@/emails/registration-attempt";
import { resetPasswordSubject } from "@/emails/reset-password";
import { verifyEmailSubject } from "@/emails/verify-email";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox, tokenIn } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, collectingSchedule, RESET_LINK, uniqueIp } from "@/test-support/reset-helpers";
import { insertSession } from "@/test-support/sessions";
import { createUser, CURRENT_PASSWORD, uniqueEmail } from "@/test-support/users";
import { verifyCredentials } from "../auth/credentials";
import { findSession } from "../auth/sessions";
import { attemptSignIn } from "../auth/sign-in-throttle";
import { cleanUpExpiredRecords } from "../maintenance";
import { requestPasswordReset } from "../recovery/request";
import { emailFingerprint, generateToken } from "../tokens";
import { cancelAccountDeletion, inspectDeletionCancelToken, requestAccountDeletion } from "./delete-account";
import { completeRegistration } from "./register";

const outbox = installTestOutbox();
const CANCEL_LINK = /\/cancel-deletion\/([A-Za-z0-9_-]{43})/;
const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });
const NOTHING_LATER = () => {};

describeEachDatabase("account deletion", ({ handle }) => {
  const db = (): Database => handle().db;

  /** A confirmed user with a browser session that signed in just now ("Confirm it's you" holds). */
  async function signedIn() {
    const user = await createUser(db());
    const session = await insertSession(db(), { userId: user.id, userAgent: CHROME_ON_WINDOWS, ip: null });
    return { ...user, sessionId: session.id, sessionToken: session.sessionToken };
  }

  /** Deletes the user's account as its owner and runs the jobs; returns the cancel link's token. */
  async function deleteAsOwner(user: { id: string; email: string; sessionId: string }): Promise<string> {
    const scheduled = collectingSchedule();
    const result = await requestAccountDeletion(
      db(),
      { userId: user.id, sessionId: user.sessionId, typedEmail: user.email, ...context() },
      scheduled.schedule,
    );
    expect(result.ok).toBe(true);
    await scheduled.runAll();
    const [mail] = await outbox.to(user.email, accountDeletionSubject);
    return tokenIn(mail, CANCEL_LINK);
  }

  /** Moves the account's deletion `days` into the past, as if the grace period had run. */
  async function ageDeletion(userId: string, days: number) {
    await db()
      .update(users)
      .set({ deletionRequestedAt: sql`now() - make_interval(days => ${days})` })
      .where(eq(users.id, userId));
  }

  it("needs a recent confirmation and the account's own address typed, and changes nothing otherwise", async () => {
    const user = await signedIn();
    const wrong = await requestAccountDeletion(
      db(),
      { userId: user.id, sessionId: user.sessionId, typedEmail: "someone-else@example.com", ...context() },
      NOTHING_LATER,
    );
    expect(wrong).toEqual({ ok: false, code: "EMAIL_MISMATCH" });
    await db()
      .update(sessions)
      .set({ passwordCheckedAt: sql`now() - interval '1 hour'` })
      .where(eq(sessions.id, user.sessionId));
    const stale = await requestAccountDeletion(
      db(),
      { userId: user.id, sessionId: user.sessionId, typedEmail: user.email, ...context() },
      NOTHING_LATER,
    );
    expect(stale).toEqual({ ok: false, code: "CONFIRMATION_NEEDED" });
    const [row] = await db().select({ pending: users.deletionRequestedAt }).from(users).where(eq(users.id, user.id));
    expect(row?.pending).toBeNull();
    expect(await findSession(db(), user.sessionToken)).not.toBeNull();
  });

  it("ends every session and link at once, accepts the address in any case, and emails a cancel link valid for the grace period", async () => {
    outbox.configure({ ACCOUNT_DELETION_GRACE_DAYS: "9" });
    const user = await signedIn();
    const app = await insertSession(db(), { userId: user.id, userAgent: "cli", ip: null });
    const reset = generateToken();
    await db()
      .insert(passwordResetTokens)
      .values({ userId: user.id, tokenHash: reset.hash, expiresAt: new Date(Date.now() + 3_600_000) });
    const scheduled = collectingSchedule();
    const result = await requestAccountDeletion(
      db(),
      { userId: user.id, sessionId: user.sessionId, typedEmail: `  ${user.email.toUpperCase()} `, ...context() },
      scheduled.schedule,
    );
    if (!result.ok) throw new Error(result.code);
    expect(result.sessionsEnded).toBe(2);
    // Committed with the deletion, before anything ran: the email is a durable job.
    expect(await db().select().from(jobs).where(eq(jobs.kind, "account.deletion_cancel_link"))).toHaveLength(1);
    expect(await db().select().from(sessions).where(eq(sessions.userId, user.id))).toEqual([]);
    expect(await findSession(db(), app.sessionToken)).toBeNull();
    const [link] = await db()
      .select({ usedAt: passwordResetTokens.usedAt })
      .from(passwordResetTokens)
      .where(eq(passwordResetTokens.userId, user.id));
    expect(link?.usedAt).not.toBeNull();
    const [cancel] = await db()
      .select({ expiresAt: accountDeletionCancelTokens.expiresAt })
      .from(accountDeletionCancelTokens)
      .where(eq(accountDeletionCancelTokens.userId, user.id));
    expect(Math.abs(cancel!.expiresAt.getTime() - Date.now() - 9 * 86_400_000)).toBeLessThan(60_000);
    expect(result.erasedAfter.getTime()).toBe(cancel!.expiresAt.getTime());

    await scheduled.runAll();
    const [mail] = await outbox.to(user.email, accountDeletionSubject);
    expect(mail?.text).toContain("deleted by you");
    const token = tokenIn(mail, CANCEL_LINK);
    // Only its hash is stored.
    expect(JSON.stringify(await db().select().from(accountDeletionCancelTokens))).not.toContain(token);
    expect(JSON.stringify(await db().select().from(jobs))).not.toContain(token);
    expect(await inspectDeletionCancelToken(db(), token)).toEqual({ status: "valid" });
    const again = await requestAccountDeletion(
      db(),
      { userId: user.id, adminId: "admin", typedEmail: user.email, ...context() },
      NOTHING_LATER,
    );
    expect(again).toEqual({ ok: false, code: "ALREADY_PENDING" });
  });

  it("while pending, sign-in and forgot-password answer exactly as for an unknown address, and no email goes out", async () => {
    const user = await signedIn();
    await deleteAsOwner(user);
    const before = (await outbox.all()).length;
    expect(await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
    const pending = await attemptSignIn(db(), { email: user.email, password: CURRENT_PASSWORD, ip: uniqueIp(), userAgent: null });
    const unknown = await attemptSignIn(db(), {
      email: uniqueEmail("nobody"),
      password: CURRENT_PASSWORD,
      ip: uniqueIp(),
      userAgent: null,
    });
    expect(pending).toEqual(unknown);

    const scheduled = collectingSchedule();
    const ip = uniqueIp();
    const asked = await requestPasswordReset(db(), { email: user.email, ip, userAgent: null }, scheduled.schedule);
    const askedUnknown = await requestPasswordReset(db(), { email: uniqueEmail("nobody"), ip, userAgent: null }, scheduled.schedule);
    expect(asked).toEqual(askedUnknown);
    await scheduled.runAll();
    expect(await outbox.to(user.email, resetPasswordSubject)).toEqual([]);
    expect((await outbox.all()).length).toBe(before);
    expect(
      await db()
        .select()
        .from(passwordResetTokens)
        .where(and(eq(passwordResetTokens.userId, user.id), sql`used_at is null`)),
    ).toEqual([]);
    const [requested] = await db()
      .select({ details: auditEvents.details, userId: auditEvents.userId })
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "password_reset.requested"), eq(auditEvents.emailHmac, emailFingerprint(user.email))));
    expect(requested).toEqual({ details: { account_exists: false }, userId: null });
  });

  it("a registration of the address during the grace period answers as usual, sends nothing and neither revives nor replaces the account", async () => {
    // Unconfirmed: registration would normally replace it (nobody proved the address yet).
    const user = await createUser(db(), { confirmed: false });
    await requestAccountDeletion(db(), { userId: user.id, adminId: "admin-1", typedEmail: user.email, ...context() }, NOTHING_LATER);
    const [before] = await db().select().from(users).where(eq(users.id, user.id));
    await completeRegistration(db(), { email: user.email, password: "Another-Password-42", ...context() });
    const [after] = await db().select().from(users).where(eq(users.id, user.id));
    expect(after).toEqual(before);
    expect(await outbox.to(user.email, verifyEmailSubject)).toEqual([]);
    expect(await outbox.to(user.email, registrationAttemptSubject)).toEqual([]);
    expect(await db().select().from(users).where(eq(users.email, user.email))).toHaveLength(1);
  });

  it("the cancel link restores the account with no session, its password no longer works, and a reset link comes; the link works once", async () => {
    const user = await signedIn();
    const token = await deleteAsOwner(user);
    const scheduled = collectingSchedule();
    expect(await cancelAccountDeletion(db(), token, context(), scheduled.schedule)).toEqual({ ok: true });
    expect(await cancelAccountDeletion(db(), token, context(), NOTHING_LATER)).toEqual({ ok: false, problem: "used" });
    const [row] = await db().select().from(users).where(eq(users.id, user.id));
    expect(row?.deletionRequestedAt).toBeNull();
    expect(row?.passwordHash).toBeNull();
    expect(await db().select().from(sessions).where(eq(sessions.userId, user.id))).toEqual([]);
    expect(await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
    await scheduled.runAll();
    const [mail] = await outbox.to(user.email, resetPasswordSubject);
    expect(tokenIn(mail, RESET_LINK)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("an expired, malformed or unknown cancel link restores nothing", async () => {
    const user = await signedIn();
    const token = await deleteAsOwner(user);
    expect(await cancelAccountDeletion(db(), "not-a-token", context(), NOTHING_LATER)).toEqual({ ok: false, problem: "invalid" });
    expect(await cancelAccountDeletion(db(), generateToken().token, context(), NOTHING_LATER)).toEqual({ ok: false, problem: "invalid" });
    await db()
      .update(accountDeletionCancelTokens)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(accountDeletionCancelTokens.userId, user.id));
    expect(await inspectDeletionCancelToken(db(), token)).toEqual({ status: "expired" });
    expect(await cancelAccountDeletion(db(), token, context(), NOTHING_LATER)).toEqual({ ok: false, problem: "expired" });
    const [row] = await db().select({ pending: users.deletionRequestedAt }).from(users).where(eq(users.id, user.id));
    expect(row?.pending).not.toBeNull();
  });

  it("after the grace period the cleanup erases the account's rows and keeps its audit rows only as fingerprints", async () => {
    const user = await signedIn();
    const kept = await signedIn();
    await db()
      .insert(recoveryCodes)
      .values({ userId: user.id, codeHash: "x".repeat(64) });
    const token = await deleteAsOwner(user);
    await deleteAsOwner(kept);
    // Added once the deletion was asked for: with a passkey, "Confirm it's you" would ask for it too.
    await db()
      .insert(passkeys)
      .values({ userId: user.id, credentialId: `cred-${user.id}`, publicKey: "AAAA", name: "Laptop", addedCredentialsVersion: 1 });
    await db()
      .insert(webauthnChallenges)
      .values({
        userId: user.id,
        challengeHash: `c-${user.id}`,
        purpose: "register",
        bindingHash: "b",
        expiresAt: sql`now() + interval '5 minutes'`,
      });
    await ageDeletion(user.id, 15);
    await ageDeletion(kept.id, 13);
    // A job about them still waiting (a registration attempt, say) goes too.
    await db()
      .insert(jobs)
      .values({ kind: "registration.complete", payload: { email: user.email.toUpperCase(), sealedPassword: "x" } });

    const report = await cleanUpExpiredRecords(db());
    expect(report.erasedAccounts).toBe(1);
    expect(await db().select().from(users).where(eq(users.id, user.id))).toEqual([]);
    expect(await db().select({ id: users.id }).from(users).where(eq(users.id, kept.id))).toHaveLength(1);
    for (const table of [sessions, passwordResetTokens, accountDeletionCancelTokens, recoveryCodes, passkeys, webauthnChallenges]) {
      expect(await db().select().from(table).where(eq(table.userId, user.id))).toEqual([]);
    }
    const left = JSON.stringify(await db().select().from(jobs));
    expect(left).not.toContain(user.id);
    expect(left.toLowerCase()).not.toContain(user.email);
    const theirs = await db()
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.emailHmac, emailFingerprint(user.email)));
    expect(theirs.map((e) => e.event)).toContain("account.erased");
    expect(await db().select().from(auditEvents).where(eq(auditEvents.userId, user.id))).toEqual([]);
    const all = JSON.stringify(await db().select().from(auditEvents));
    expect(all).not.toContain(user.id);
    const scrubbed = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "account.deletion_requested"), sql`${auditEvents.userId} is null`));
    expect(scrubbed.length).toBeGreaterThanOrEqual(1);
    expect(scrubbed.every((e) => e.ip === null && e.userAgent === null)).toBe(true);
    // The link died with the account.
    expect(await cancelAccountDeletion(db(), token, context(), NOTHING_LATER)).toEqual({ ok: false, problem: "invalid" });
  });

  it("an administrator's deletion is audited with their id and emails the owner the same cancel link", async () => {
    const user = await signedIn();
    const scheduled = collectingSchedule();
    const result = await requestAccountDeletion(
      db(),
      { userId: user.id, adminId: "admin-7", typedEmail: user.email, ...context() },
      scheduled.schedule,
    );
    expect(result.ok).toBe(true);
    await scheduled.runAll();
    const [mail] = await outbox.to(user.email, accountDeletionSubject);
    expect(mail?.text).toContain("deleted by an administrator");
    expect(await cancelAccountDeletion(db(), tokenIn(mail, CANCEL_LINK), context(), NOTHING_LATER)).toEqual({ ok: true });
    const [audited] = await db()
      .select({ details: auditEvents.details })
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "account.deletion_requested"), eq(auditEvents.userId, user.id)));
    expect(audited?.details).toMatchObject({ admin_id: "admin-7" });
  });
});
