import { and, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import { auditEvents, passkeys, passwordChangeReportTokens, passwordResetTokens, sessions, users } from "@/db/schema";
import { passwordChangedSubject } from "@/emails/password-changed";
import { resetPasswordSubject } from "@/emails/reset-password";
import { describeEachDatabase } from "@/test-support/databases";
import { REPORT_LINK, installTestOutbox, tokenIn } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, collectingSchedule, RESET_LINK, uniqueIp } from "@/test-support/reset-helpers";
import { createUser, CURRENT_PASSWORD } from "@/test-support/users";
import { verifyCredentials } from "../auth/credentials";
import { findSession } from "../auth/sessions";
import { insertSession } from "@/test-support/sessions";
import { changePassword } from "../accounts/change-password";
import { inspectReportToken, reportPasswordChange } from "./wasnt-me";
import { notifyPasswordChanged } from "../accounts/password-changed-notice";
import { inspectResetToken, resetPassword } from "./reset";
import { issueResetLink } from "./deliver";
import { hashToken } from "../tokens";
import { enqueueNewDeviceSignIn } from "../auth/owner-alerts";
import { newDeviceSignInSubject } from "@/emails/new-device-sign-in";

const outbox = installTestOutbox();
const CHANGED_PASSWORD = "Intruder-Chose-This-8";
const NO_CONTEXT = { ip: null, userAgent: null };

async function eventsOf(db: Database, userId: string, event: string) {
  return db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.userId, userId), eq(auditEvents.event, event)));
}

describeEachDatabase('"This wasn\'t me" report', ({ handle }) => {
  const db = () => handle().db;

  /** Tokens in the emails to `email` with `subject` and `link`, in no particular order. */
  async function tokensSent(email: string, subject: string, link: RegExp): Promise<string[]> {
    return (await outbox.to(email, subject)).map((m) => tokenIn(m, link));
  }

  /**
   * A user whose password was changed with changePassword; returns the session it made and the
   * report token from the password-changed email.
   */
  async function userWhosePasswordChanged() {
    const user = await createUser(db());
    const { schedule, runAll } = collectingSchedule();
    const changed = await changePassword(
      db(),
      { userId: user.id, currentPassword: CURRENT_PASSWORD, newPassword: CHANGED_PASSWORD, ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS },
      schedule,
    );
    if (!changed.ok) throw new Error(`change failed: ${changed.code}`);
    await runAll();
    const [reportToken] = await tokensSent(user.email, passwordChangedSubject, REPORT_LINK);
    if (!reportToken) throw new Error("no report link");
    return { user, reportToken, sessionToken: changed.session.sessionToken };
  }

  it("shows a report link as valid as often as asked without consuming it", async () => {
    const { user, reportToken, sessionToken } = await userWhosePasswordChanged();

    expect(await inspectReportToken(db(), reportToken)).toEqual({ status: "valid" });
    expect(await inspectReportToken(db(), reportToken)).toEqual({ status: "valid" });

    const [row] = await db()
      .select()
      .from(passwordChangeReportTokens)
      .where(eq(passwordChangeReportTokens.tokenHash, hashToken(reportToken)));
    expect(row?.usedAt).toBeNull();
    expect(await findSession(db(), sessionToken)).not.toBeNull();
    expect((await verifyCredentials(db(), user.email, CHANGED_PASSWORD)).ok).toBe(true);
  });

  it("ends every session, locks the password, spends every outstanding link and audits the report", async () => {
    const { user, reportToken, sessionToken } = await userWhosePasswordChanged();
    const other = await createUser(db());
    await insertSession(db(), { userId: user.id, userAgent: null, ip: "192.0.2.10" });
    const survivor = await insertSession(db(), { userId: other.id, userAgent: null, ip: "192.0.2.11" });
    // A reset link asked for after the change, and a second report link from another notice.
    await issueResetLink(db(), user, NO_CONTEXT);
    const [outstandingReset] = await tokensSent(user.email, resetPasswordSubject, RESET_LINK);
    await notifyPasswordChanged(db(), { userId: user.id, email: user.email, changedAt: new Date(), ip: null, userAgent: null });
    const secondReport = (await tokensSent(user.email, passwordChangedSubject, REPORT_LINK)).find((t) => t !== reportToken);
    expect(await inspectResetToken(db(), outstandingReset!)).toMatchObject({ status: "valid" });
    expect(await inspectReportToken(db(), secondReport!)).toEqual({ status: "valid" });
    await issueResetLink(db(), other, NO_CONTEXT);
    const [othersReset] = await tokensSent(other.email, resetPasswordSubject, RESET_LINK);
    const [before] = await db().select().from(users).where(eq(users.id, user.id));
    const ip = uniqueIp();
    const { schedule, pending } = collectingSchedule();

    expect(await reportPasswordChange(db(), reportToken, { ip, userAgent: CHROME_ON_WINDOWS }, schedule)).toEqual({ ok: true });

    expect(await db().select().from(sessions).where(eq(sessions.userId, user.id))).toEqual([]);
    expect(await findSession(db(), sessionToken)).toBeNull();
    expect(await db().select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, other.id))).toEqual([{ id: survivor.id }]);

    const [after] = await db().select().from(users).where(eq(users.id, user.id));
    expect(after?.passwordHash).toBeNull();
    expect(after?.passwordChangedAt!.getTime()).toBeGreaterThan(before!.passwordChangedAt!.getTime());
    expect(await verifyCredentials(db(), user.email, CHANGED_PASSWORD)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
    expect(await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });

    expect(await inspectResetToken(db(), outstandingReset!)).toEqual({ status: "used" });
    expect(await inspectReportToken(db(), secondReport!)).toEqual({ status: "used" });
    expect(await inspectReportToken(db(), reportToken)).toEqual({ status: "used" });
    const unusedOfUser = await db()
      .select({ n: sql<number>`count(*)::int` })
      .from(passwordResetTokens)
      .where(and(eq(passwordResetTokens.userId, user.id), sql`${passwordResetTokens.usedAt} is null`));
    expect(Number(unusedOfUser[0]?.n)).toBe(0);
    expect(await inspectResetToken(db(), othersReset!)).toMatchObject({ status: "valid" });
    expect((await verifyCredentials(db(), other.email, CURRENT_PASSWORD)).ok).toBe(true);

    const reported = await eventsOf(db(), user.id, "password_change.reported");
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ ip, userAgent: CHROME_ON_WINDOWS });
    const revoked = (await eventsOf(db(), user.id, "sessions.revoked")).filter((a) => a.details.reason === "reported");
    expect(revoked.map((a) => a.details)).toEqual([{ count: 2, reason: "reported" }]);
    expect(pending).toHaveLength(1);
  });

  it("emails a fresh reset link after the response, with which the owner sets a new password and signs in again", async () => {
    const { user, reportToken } = await userWhosePasswordChanged();
    const { schedule, pending, runAll } = collectingSchedule();

    expect(await reportPasswordChange(db(), reportToken, NO_CONTEXT, schedule)).toEqual({ ok: true });
    expect(pending).toHaveLength(1);
    expect(await outbox.to(user.email, resetPasswordSubject)).toEqual([]);

    await runAll();

    const resetTokens = await tokensSent(user.email, resetPasswordSubject, RESET_LINK);
    expect(resetTokens).toHaveLength(1);
    expect(await inspectResetToken(db(), resetTokens[0]!)).toMatchObject({ status: "valid", maskedEmail: "a***@example.com" });

    const reclaimed = "Owner-Took-It-Back-9";
    const after = collectingSchedule();
    expect(await resetPassword(db(), { token: resetTokens[0]!, password: reclaimed, ip: null, userAgent: null }, after.schedule)).toEqual({
      ok: true,
    });
    expect(await verifyCredentials(db(), user.email, reclaimed)).toMatchObject({ ok: true, user: { id: user.id } });
    expect(await verifyCredentials(db(), user.email, CHANGED_PASSWORD)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
  });

  it("works once: the same link again says used and changes nothing more", async () => {
    const { user, reportToken } = await userWhosePasswordChanged();
    const first = collectingSchedule();
    expect(await reportPasswordChange(db(), reportToken, NO_CONTEXT, first.schedule)).toEqual({ ok: true });
    await first.runAll();
    const [resetToken] = await tokensSent(user.email, resetPasswordSubject, RESET_LINK);
    const reclaimed = "Owner-Took-It-Back-10";
    expect(
      await resetPassword(db(), { token: resetToken!, password: reclaimed, ip: null, userAgent: null }, collectingSchedule().schedule),
    ).toEqual({
      ok: true,
    });
    const session = await insertSession(db(), { userId: user.id, userAgent: null, ip: null });
    const second = collectingSchedule();

    expect(await reportPasswordChange(db(), reportToken, NO_CONTEXT, second.schedule)).toEqual({ ok: false, problem: "used" });

    expect(second.pending).toHaveLength(0);
    expect((await verifyCredentials(db(), user.email, reclaimed)).ok).toBe(true);
    expect(await findSession(db(), session.sessionToken)).not.toBeNull();
    expect(await eventsOf(db(), user.id, "password_change.reported")).toHaveLength(1);
  });

  it("refuses expired and unknown links without touching any account", async () => {
    const { user, reportToken, sessionToken } = await userWhosePasswordChanged();
    await db()
      .update(passwordChangeReportTokens)
      .set({ expiresAt: sql`now() - interval '1 minute'` })
      .where(eq(passwordChangeReportTokens.tokenHash, hashToken(reportToken)));
    const { schedule, pending } = collectingSchedule();

    expect(await inspectReportToken(db(), reportToken)).toEqual({ status: "expired" });
    expect(await reportPasswordChange(db(), reportToken, NO_CONTEXT, schedule)).toEqual({ ok: false, problem: "expired" });
    for (const garbage of ["garbage", "A".repeat(43)]) {
      expect(await inspectReportToken(db(), garbage)).toEqual({ status: "invalid" });
      expect(await reportPasswordChange(db(), garbage, NO_CONTEXT, schedule)).toEqual({ ok: false, problem: "invalid" });
    }

    expect(pending).toHaveLength(0);
    expect((await verifyCredentials(db(), user.email, CHANGED_PASSWORD)).ok).toBe(true);
    expect(await findSession(db(), sessionToken)).not.toBeNull();
  });

  it("removes the passkeys added since the reported change, in its transaction, and keeps the older ones", async () => {
    const user = await createUser(db());
    const insertPasskey = (name: string, version: number) =>
      db()
        .insert(passkeys)
        .values({ userId: user.id, name, credentialId: `cred-${name}-${user.id}`, publicKey: "AAAA", addedCredentialsVersion: version });
    await insertPasskey("owner's", 1);
    const { schedule, runAll } = collectingSchedule();
    const changed = await changePassword(
      db(),
      { userId: user.id, currentPassword: CURRENT_PASSWORD, newPassword: CHANGED_PASSWORD, ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS },
      schedule,
    );
    if (!changed.ok) throw new Error(changed.code);
    await runAll();
    const [reportToken] = await tokensSent(user.email, passwordChangedSubject, REPORT_LINK);
    const [report] = await db()
      .select()
      .from(passwordChangeReportTokens)
      .where(eq(passwordChangeReportTokens.tokenHash, hashToken(reportToken!)));
    expect(report?.reportsCredentialsVersion).toBe(2);
    await insertPasskey("intruder's", 2);

    expect(await reportPasswordChange(db(), reportToken!, NO_CONTEXT, collectingSchedule().schedule)).toEqual({ ok: true });
    const left = await db().select({ name: passkeys.name }).from(passkeys).where(eq(passkeys.userId, user.id));
    expect(left).toEqual([{ name: "owner's" }]);
    const [event] = await eventsOf(db(), user.id, "passkey.removed_by_report");
    expect(event?.details).toEqual({ count: 1, since_version: 2 });
  });

  it("from a new-device email, also removes the passkeys added before that sign-in at the same credentials version", async () => {
    // A sign-in raises no version. A passkey added before it may be the same intruder's (from an
    // earlier sign-in whose email went unread), and this report spends every other report link:
    // removing only the passkeys added after the sign-in would leave that one in place.
    const user = await createUser(db());
    const insertPasskey = (name: string) =>
      db()
        .insert(passkeys)
        .values({ userId: user.id, name, credentialId: `cred-${name}-${user.id}`, publicKey: "AAAA", addedCredentialsVersion: 1 });
    await insertPasskey("before the sign-in");
    const { schedule, runAll } = collectingSchedule();
    await db().transaction((tx) => enqueueNewDeviceSignIn(db(), tx, schedule, { userId: user.id, ip: uniqueIp(), userAgent: null }));
    await insertPasskey("after the sign-in");
    await runAll();
    const [reportToken] = await tokensSent(user.email, newDeviceSignInSubject, REPORT_LINK);

    expect(await reportPasswordChange(db(), reportToken!, NO_CONTEXT, collectingSchedule().schedule)).toEqual({ ok: true });
    expect(await db().select().from(passkeys).where(eq(passkeys.userId, user.id))).toEqual([]);
    const [event] = await eventsOf(db(), user.id, "passkey.removed_by_report");
    expect(event?.details).toEqual({ count: 2, since_version: 1 });
  });
});
