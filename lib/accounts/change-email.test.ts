import { and, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { auditEvents, emailChangeTokens, emailVerificationTokens, passwordResetTokens, sessions, users } from "@/db/schema";
import { emailChangeAttemptSubject } from "@/emails/email-change-attempt";
import { emailChangeConfirmSubject } from "@/emails/email-change-confirm";
import { emailChangedSubject } from "@/emails/email-changed";
import { passwordChangedSubject } from "@/emails/password-changed";
import { resetPasswordSubject } from "@/emails/reset-password";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox, REPORT_LINK, tokenIn } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, collectingSchedule, RESET_LINK, uniqueIp } from "@/test-support/reset-helpers";
import { insertSession } from "@/test-support/sessions";
import { createUser, CURRENT_PASSWORD, uniqueEmail } from "@/test-support/users";
import { verifyCredentials } from "../auth/credentials";
import { findSession } from "../auth/sessions";
import { requestPasswordReset } from "../recovery/request";
import { resetPassword } from "../recovery/reset";
import { reportPasswordChange } from "../recovery/wasnt-me";
import { emailFingerprint, generateToken } from "../tokens";
import { changePassword } from "./change-password";
import { confirmEmailChange, inspectEmailChangeToken, pendingEmailChange, requestEmailChange } from "./change-email";
import { inspectEmailChangeUndoToken, undoEmailChange } from "./undo-email-change";

const outbox = installTestOutbox();
const CHANGE_LINK = /\/email-change\/([A-Za-z0-9_-]{43})/;
const UNDO_LINK = /\/email-change\/undo\/([A-Za-z0-9_-]{43})/;
const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });

describeEachDatabase("email change", ({ handle }) => {
  const db = () => handle().db;

  /** A confirmed user signed in on two devices ("here" confirms the change; "other" must end). */
  async function signedInUser() {
    const user = await createUser(db());
    const here = await insertSession(db(), { userId: user.id, ip: null, userAgent: CHROME_ON_WINDOWS });
    const other = await insertSession(db(), { userId: user.id, ip: null, userAgent: "other device" });
    return { user, here, other };
  }

  /** Asks for a change to `newEmail` from session `sessionId` and runs its jobs; returns the token mailed to `newEmail`, if one was. */
  async function requestChange(userId: string, sessionId: string, newEmail: string): Promise<string | null> {
    const { schedule, runAll } = collectingSchedule();
    const result = await requestEmailChange(db(), { userId, sessionId, newEmail, ...context() }, schedule);
    expect(result).toEqual({ ok: true });
    await runAll();
    const [mail] = await outbox.to(newEmail.toLowerCase(), emailChangeConfirmSubject);
    return mail ? tokenIn(mail, CHANGE_LINK) : null;
  }

  async function confirm(token: string, password = CURRENT_PASSWORD, sessionId: string | null = null) {
    const { schedule, runAll } = collectingSchedule();
    const result = await confirmEmailChange(db(), { token, password, sessionId, ...context() }, schedule);
    await runAll();
    return result;
  }

  const emailOf = async (userId: string) => (await db().select({ email: users.email }).from(users).where(eq(users.id, userId)))[0]?.email;
  const events = (userId: string, event: string) =>
    db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, userId), eq(auditEvents.event, event)));

  it("changes the address only once the link and the password confirm it, ending every other session and the old links", async () => {
    const { user, here, other } = await signedInUser();
    const newEmail = uniqueEmail("new");
    const resetLink = generateToken();
    await db()
      .insert(passwordResetTokens)
      .values({ userId: user.id, tokenHash: resetLink.hash, expiresAt: new Date(Date.now() + 3600_000) });
    const token = await requestChange(user.id, here.id, newEmail.toUpperCase());
    expect(token).not.toBeNull();
    expect(await inspectEmailChangeToken(db(), token!)).toEqual({ status: "valid", maskedEmail: `n***@${newEmail.split("@")[1]}` });
    expect(await pendingEmailChange(db(), user.id)).toMatchObject({ maskedEmail: `n***@${newEmail.split("@")[1]}` });

    expect(await confirm(token!, "Not-The-Password-1", here.id)).toEqual({ ok: false, code: "WRONG_PASSWORD" });
    expect(await emailOf(user.id)).toBe(user.email);

    expect(await confirm(token!, CURRENT_PASSWORD, here.id)).toEqual({ ok: true, email: newEmail, sessionKept: true });
    expect(await emailOf(user.id)).toBe(newEmail);
    expect(await findSession(db(), here.sessionToken)).not.toBeNull();
    expect(await findSession(db(), other.sessionToken)).toBeNull();
    const [row] = await db().select().from(users).where(eq(users.id, user.id));
    expect(row?.emailVerified).not.toBeNull();
    const [reset] = await db().select().from(passwordResetTokens).where(eq(passwordResetTokens.tokenHash, resetLink.hash));
    expect(reset?.usedAt).not.toBeNull();
    // Used once: a second confirmation changes nothing.
    expect(await confirm(token!)).toEqual({ ok: false, code: "TOKEN_PROBLEM", problem: "used" });

    const [notice] = await outbox.to(user.email, emailChangedSubject);
    expect(notice?.text).toContain(`n***@${newEmail.split("@")[1]}`);
    expect(await inspectEmailChangeUndoToken(db(), tokenIn(notice, UNDO_LINK))).toMatchObject({ status: "valid" });
    // Sign-in now takes the new address, and only it.
    expect((await verifyCredentials(db(), newEmail, CURRENT_PASSWORD)).ok).toBe(true);
    expect((await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).ok).toBe(false);
  });

  it("writes an audit row for each step, with fingerprints and never an address in clear", async () => {
    const { user, here } = await signedInUser();
    const newEmail = uniqueEmail("audited");
    const token = await requestChange(user.id, here.id, newEmail);
    await confirm(token!, "Not-The-Password-1");
    await confirm(token!);
    expect(await events(user.id, "email_change.requested")).toHaveLength(1);
    expect(await events(user.id, "email_change.refused")).toHaveLength(1);
    const [confirmed] = await events(user.id, "email_change.confirmed");
    expect(confirmed?.details).toEqual({ new_email: emailFingerprint(newEmail) });
    const all = await db().select().from(auditEvents).where(eq(auditEvents.userId, user.id));
    const dump = JSON.stringify(all);
    expect(dump).not.toContain(newEmail);
    expect(dump).not.toContain(user.email);
  });

  it("leaves sign-in, reset links and notices on the current address until the change is confirmed", async () => {
    const { user, here } = await signedInUser();
    const newEmail = uniqueEmail("pending");
    expect(await requestChange(user.id, here.id, newEmail)).not.toBeNull();
    expect(await emailOf(user.id)).toBe(user.email);
    expect((await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).ok).toBe(true);
    expect((await verifyCredentials(db(), newEmail, CURRENT_PASSWORD)).ok).toBe(false);
    for (const email of [user.email, newEmail]) {
      const { schedule, runAll } = collectingSchedule();
      await requestPasswordReset(db(), { email, ...context() }, schedule);
      await runAll();
    }
    expect(await outbox.to(user.email, resetPasswordSubject)).toHaveLength(1);
    expect(await outbox.to(newEmail, resetPasswordSubject)).toHaveLength(0);
    const changed = await changePassword(
      db(),
      { userId: user.id, currentPassword: CURRENT_PASSWORD, newPassword: "Another-Password-42", ...context() },
      collectingSchedule().schedule,
    );
    expect(changed.ok).toBe(true);
  });

  it("is cancelled by a password reset", async () => {
    const { user, here } = await signedInUser();
    const token = await requestChange(user.id, here.id, uniqueEmail("cancelled"));
    const { schedule, runAll } = collectingSchedule();
    await requestPasswordReset(db(), { email: user.email, ...context() }, schedule);
    await runAll();
    const resetToken = tokenIn((await outbox.to(user.email, resetPasswordSubject))[0], RESET_LINK);
    expect(
      await resetPassword(db(), { token: resetToken, password: "Brand-New-Password-5", ...context() }, collectingSchedule().schedule),
    ).toEqual({
      ok: true,
    });
    expect(await confirm(token!, "Brand-New-Password-5")).toEqual({ ok: false, code: "TOKEN_PROBLEM", problem: "used" });
    expect(await emailOf(user.id)).toBe(user.email);
    expect(await events(user.id, "email_change.cancelled")).toHaveLength(1);
  });

  it('is cancelled by "This wasn\'t me"', async () => {
    const { user, here } = await signedInUser();
    const passwordChange = collectingSchedule();
    const changed = await changePassword(
      db(),
      { userId: user.id, currentPassword: CURRENT_PASSWORD, newPassword: "Intruder-Chose-This-8", currentSessionId: here.id, ...context() },
      passwordChange.schedule,
    );
    if (!changed.ok) throw new Error(changed.code);
    await passwordChange.runAll();
    const report = tokenIn((await outbox.to(user.email, passwordChangedSubject))[0], REPORT_LINK);
    const session = await findSession(db(), changed.session.sessionToken);
    const token = await requestChange(user.id, session!.session.id, uniqueEmail("intruder"));
    expect(await reportPasswordChange(db(), report, context(), collectingSchedule().schedule)).toEqual({ ok: true });
    expect(await confirm(token!, "Intruder-Chose-This-8")).toEqual({ ok: false, code: "TOKEN_PROBLEM", problem: "used" });
    expect(await emailOf(user.id)).toBe(user.email);
    expect(await events(user.id, "email_change.cancelled")).toHaveLength(1);
  });

  it("is cancelled by a second change: only the newest link works", async () => {
    const { user, here } = await signedInUser();
    const first = await requestChange(user.id, here.id, uniqueEmail("first"));
    const secondEmail = uniqueEmail("second");
    const second = await requestChange(user.id, here.id, secondEmail);
    expect(await confirm(first!)).toEqual({ ok: false, code: "TOKEN_PROBLEM", problem: "used" });
    expect(await confirm(second!)).toMatchObject({ ok: true, email: secondEmail });
  });

  it("gives an address of another account the same answer, mails it no link, and tells its owner", async () => {
    const { user, here } = await signedInUser();
    const owner = await createUser(db());
    expect(await requestChange(user.id, here.id, owner.email)).toBeNull();
    expect(await outbox.to(owner.email, emailChangeAttemptSubject)).toHaveLength(1);
    expect(await db().select().from(emailChangeTokens).where(eq(emailChangeTokens.userId, user.id))).toHaveLength(0);
    expect(await emailOf(owner.id)).toBe(owner.email);
    expect(await events(user.id, "email_change.refused")).toHaveLength(1);
  });

  it("refuses clearly when the new address was taken between the request and the confirmation", async () => {
    const { user, here } = await signedInUser();
    const newEmail = uniqueEmail("raced");
    const token = await requestChange(user.id, here.id, newEmail);
    await createUser(db(), { email: newEmail });
    expect(await confirm(token!)).toEqual({ ok: false, code: "ADDRESS_TAKEN" });
    expect(await emailOf(user.id)).toBe(user.email);
    expect(await findSession(db(), here.sessionToken)).not.toBeNull();
  });

  it('needs "Confirm it\'s you" on a session signed in longer ago than the window, and takes it in place', async () => {
    const { user, here } = await signedInUser();
    await db()
      .update(sessions)
      .set({ createdAt: sql`now() - interval '2 hours'`, passwordCheckedAt: sql`now() - interval '2 hours'` })
      .where(eq(sessions.id, here.id));
    const input = { userId: user.id, sessionId: here.id, newEmail: uniqueEmail("late"), ...context() };
    const schedule = collectingSchedule().schedule;
    expect(await requestEmailChange(db(), input, schedule)).toEqual({ ok: false, code: "CONFIRMATION_NEEDED" });
    expect(await requestEmailChange(db(), { ...input, confirmation: { password: "Wrong-Password-99" } }, schedule)).toEqual({
      ok: false,
      code: "WRONG_PASSWORD",
    });
    expect(await requestEmailChange(db(), { ...input, confirmation: { password: CURRENT_PASSWORD } }, schedule)).toEqual({ ok: true });
  });

  it("refuses the current address as the new one", async () => {
    const { user, here } = await signedInUser();
    const result = await requestEmailChange(db(), { userId: user.id, sessionId: here.id, newEmail: user.email, ...context() }, () => {});
    expect(result).toEqual({ ok: false, code: "SAME_ADDRESS" });
  });

  it("undoes a change from the old address: the address comes back, every session ends, the password is locked, a reset link goes there", async () => {
    const { user, here } = await signedInUser();
    const newEmail = uniqueEmail("stolen");
    const verification = generateToken();
    const token = await requestChange(user.id, here.id, newEmail);
    expect(await confirm(token!, CURRENT_PASSWORD, here.id)).toMatchObject({ ok: true });
    await db()
      .insert(emailVerificationTokens)
      .values({ userId: user.id, email: newEmail, tokenHash: verification.hash, expiresAt: new Date(Date.now() + 3600_000) });
    const undo = tokenIn((await outbox.to(user.email, emailChangedSubject))[0], UNDO_LINK);
    const { schedule, runAll } = collectingSchedule();
    expect(await undoEmailChange(db(), undo, context(), schedule)).toEqual({ ok: true });
    await runAll();
    expect(await emailOf(user.id)).toBe(user.email);
    expect(await findSession(db(), here.sessionToken)).toBeNull();
    expect((await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).ok).toBe(false);
    expect(await outbox.to(user.email, resetPasswordSubject)).toHaveLength(1);
    expect(await events(user.id, "email_change.undone")).toHaveLength(1);
    expect(await undoEmailChange(db(), undo, context(), schedule)).toEqual({ ok: false, code: "TOKEN_PROBLEM", problem: "used" });
  });
});
