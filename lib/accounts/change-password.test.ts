import { and, eq } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import { auditEvents, passwordChangeReportTokens, passwordResetTokens, rateLimitBuckets, sessions, users } from "@/db/schema";
import { passwordChangedSubject } from "@/emails/password-changed";
import { describeEachDatabase } from "@/test-support/databases";
import { REPORT_LINK, fullLinkIn, installTestOutbox, tokenIn } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, collectingSchedule, RESET_LINK, uniqueIp } from "@/test-support/reset-helpers";
import { createUser, CURRENT_PASSWORD } from "@/test-support/users";
import { verifyCredentials } from "../auth/credentials";
import { createSession, findSession } from "../auth/sessions";
import { insertSession } from "@/test-support/sessions";
import { CHANGE_PASSWORD_LIMIT, changePassword, type ChangePasswordResult } from "./change-password";
import { env } from "../env";
import { issueResetLink } from "../recovery/deliver";
import { inspectResetToken } from "../recovery/reset";
import { hashToken } from "../tokens";

const outbox = installTestOutbox();

const WRONG_PASSWORD = "Not-The-Password-1";
const NEW_PASSWORD = "Brand-New-Pass-51";
const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });

async function eventsOf(db: Database, userId: string, event: string) {
  return db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.userId, userId), eq(auditEvents.event, event)));
}

async function userRow(db: Database, userId: string) {
  const [row] = await db.select().from(users).where(eq(users.id, userId));
  if (!row) throw new Error(`no user ${userId}`);
  return row;
}

describeEachDatabase("change password", ({ handle, driver }) => {
  const db = () => handle().db;

  /** Calls changePassword with a fresh IP and the given passwords; returns the result and the scheduled work. */
  async function change(userId: string, currentPassword: string, newPassword = NEW_PASSWORD, ip = uniqueIp()) {
    const scheduled = collectingSchedule();
    const result: ChangePasswordResult = await changePassword(
      db(),
      { userId, currentPassword, newPassword, ip, userAgent: CHROME_ON_WINDOWS },
      scheduled.schedule,
    );
    return { result, ...scheduled };
  }

  it("refuses a wrong current password, changes nothing and audits the failure", async () => {
    const user = await createUser(db());
    const before = await userRow(db(), user.id);
    const ip = uniqueIp();

    const { result, pending } = await change(user.id, WRONG_PASSWORD, NEW_PASSWORD, ip);

    expect(result).toEqual({ ok: false, code: "WRONG_PASSWORD" });
    expect(pending).toHaveLength(0);
    expect((await userRow(db(), user.id)).passwordHash).toBe(before.passwordHash);
    expect((await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).ok).toBe(true);
    const failures = await eventsOf(db(), user.id, "password.change_failed");
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ ip, userAgent: CHROME_ON_WINDOWS });
    expect(await eventsOf(db(), user.id, "password.changed")).toEqual([]);
  });

  it("after five wrong current passwords refuses the sixth attempt, even with the right password, with a retry time", async () => {
    const user = await createUser(db());
    const other = await createUser(db());

    for (let i = 0; i < CHANGE_PASSWORD_LIMIT.max; i++) {
      expect((await change(user.id, WRONG_PASSWORD)).result).toEqual({ ok: false, code: "WRONG_PASSWORD" });
    }
    const sixth = await change(user.id, CURRENT_PASSWORD);

    expect(sixth.result).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    expect(!sixth.result.ok && sixth.result.code === "RATE_LIMITED" && sixth.result.retryAfterSeconds).toBeGreaterThan(0);
    expect(sixth.pending).toHaveLength(0);
    expect(await verifyCredentials(db(), user.email, NEW_PASSWORD)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
    expect((await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).ok).toBe(true);
    expect(await eventsOf(db(), user.id, "password.change_failed")).toHaveLength(CHANGE_PASSWORD_LIMIT.max);
    // The limit is per account: another user is unaffected.
    expect((await change(other.id, CURRENT_PASSWORD)).result).toMatchObject({ ok: true });
  });

  it("rejects a new password that breaks the policy or equals the current one, with the reasons, and keeps the old one", async () => {
    const user = await createUser(db());

    const weak = await change(user.id, CURRENT_PASSWORD, "short");
    expect(weak.result).toMatchObject({ ok: false, code: "PASSWORD_REJECTED" });
    expect(!weak.result.ok && weak.result.code === "PASSWORD_REJECTED" && weak.result.passwordErrors).toEqual(
      expect.arrayContaining(["Use 8 to 128 characters.", "Add an upper-case letter.", "Add a digit."]),
    );

    const same = await change(user.id, CURRENT_PASSWORD, CURRENT_PASSWORD);
    expect(same.result).toEqual({
      ok: false,
      code: "PASSWORD_REJECTED",
      passwordErrors: ["Choose a password different from your current one."],
    });

    expect(weak.pending).toHaveLength(0);
    expect(same.pending).toHaveLength(0);
    expect((await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).ok).toBe(true);
    expect(await eventsOf(db(), user.id, "password.changed")).toEqual([]);
  });

  it("sets the new password, ends every earlier session of the user only, spends its reset links, audits, and returns the one new session", async () => {
    const user = await createUser(db());
    const other = await createUser(db());
    const before = await userRow(db(), user.id);
    const oldSessions = [
      await insertSession(db(), { userId: user.id, userAgent: CHROME_ON_WINDOWS, ip: "192.0.2.1" }),
      await insertSession(db(), { userId: user.id, userAgent: null, ip: "192.0.2.2" }),
    ];
    const survivor = await insertSession(db(), { userId: other.id, userAgent: null, ip: "192.0.2.3" });
    await issueResetLink(db(), user, { ip: null, userAgent: null });
    await issueResetLink(db(), user, { ip: null, userAgent: null });
    await issueResetLink(db(), other, { ip: null, userAgent: null });
    const ip = uniqueIp();

    const { result } = await change(user.id, CURRENT_PASSWORD, NEW_PASSWORD, ip);

    expect(result).toMatchObject({ ok: true });
    if (!result.ok) throw new Error("change failed");
    expect(result.session.expires.getTime()).toBeGreaterThan(Date.now());

    expect(await verifyCredentials(db(), user.email, NEW_PASSWORD)).toMatchObject({ ok: true, user: { id: user.id } });
    expect(await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
    const after = await userRow(db(), user.id);
    expect(after.passwordHash).toMatch(/^\$argon2id\$/);
    expect(after.passwordChangedAt!.getTime()).toBeGreaterThan(before.passwordChangedAt!.getTime());

    const userSessions = await db().select().from(sessions).where(eq(sessions.userId, user.id));
    expect(userSessions).toHaveLength(1);
    expect(oldSessions.map((s) => s.id)).not.toContain(userSessions[0]?.id);
    expect(userSessions[0]?.sessionToken).toBe(hashToken(result.session.sessionToken));
    expect(userSessions[0]).toMatchObject({ ip, userAgent: CHROME_ON_WINDOWS });
    for (const old of oldSessions) expect(await findSession(db(), old.sessionToken)).toBeNull();
    const found = await findSession(db(), result.session.sessionToken);
    expect(found?.session.id).toBe(userSessions[0]?.id);
    expect(found?.user.id).toBe(user.id);
    expect(await db().select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, other.id))).toEqual([{ id: survivor.id }]);

    const resetRows = await db().select().from(passwordResetTokens).where(eq(passwordResetTokens.userId, user.id));
    expect(resetRows).toHaveLength(2);
    expect(resetRows.every((row) => row.usedAt !== null)).toBe(true);
    const othersResetRows = await db().select().from(passwordResetTokens).where(eq(passwordResetTokens.userId, other.id));
    expect(othersResetRows.map((row) => row.usedAt)).toEqual([null]);

    const changed = await eventsOf(db(), user.id, "password.changed");
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({ ip, userAgent: CHROME_ON_WINDOWS });
    expect((await eventsOf(db(), user.id, "sessions.revoked")).map((a) => a.details)).toEqual([{ count: 2, reason: "password_change" }]);
  });

  it("asks only the current password, and the fresh session keeps the second factor only when this browser's session had passed it", async () => {
    const user = await createUser(db());
    const [version] = await db().select({ v: users.credentialsVersion }).from(users).where(eq(users.id, user.id));
    const grant = { userId: user.id, credentialsVersion: version!.v, ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS };
    const withCode = await createSession(db(), { ...grant, secondFactor: true });
    const passwordOnly = await createSession(db(), grant);
    if (!withCode || !passwordOnly) throw new Error("no session");

    const secondFactorOf = async (token: string) => {
      const [row] = await db()
        .select({ at: sessions.secondFactorAt })
        .from(sessions)
        .where(eq(sessions.sessionToken, hashToken(token)));
      return row?.at ?? null;
    };
    const first = await changePassword(
      db(),
      { userId: user.id, currentPassword: CURRENT_PASSWORD, newPassword: NEW_PASSWORD, currentSessionId: withCode.id, ...context() },
      () => {},
    );
    if (!first.ok) throw new Error(first.code);
    expect(await secondFactorOf(first.session.sessionToken)).toBeInstanceOf(Date);

    // From a password-only session (and from none named), the fresh one is password-only too.
    const [now] = await db().select({ v: users.credentialsVersion }).from(users).where(eq(users.id, user.id));
    const plain = await createSession(db(), { ...grant, credentialsVersion: now!.v });
    const second = await changePassword(
      db(),
      { userId: user.id, currentPassword: NEW_PASSWORD, newPassword: "Other-New-Pass-52", currentSessionId: plain!.id, ...context() },
      () => {},
    );
    if (!second.ok) throw new Error(second.code);
    expect(await secondFactorOf(second.session.sessionToken)).toBeNull();
    const third = await changePassword(
      db(),
      {
        userId: user.id,
        currentPassword: "Other-New-Pass-52",
        newPassword: "Third-New-Pass-53",
        currentSessionId: "not-a-session-id",
        ...context(),
      },
      () => {},
    );
    if (!third.ok) throw new Error(third.code);
    expect(await secondFactorOf(third.session.sessionToken)).toBeNull();
  });

  it("emails a 'password was changed' notice with a one-time 'This wasn't me' link, only once the scheduled work runs", async () => {
    const user = await createUser(db());
    const ip = uniqueIp();

    const { result, pending, runAll } = await change(user.id, CURRENT_PASSWORD, NEW_PASSWORD, ip);

    expect(result).toMatchObject({ ok: true });
    expect(pending).toHaveLength(1);
    expect(await outbox.all()).toEqual([]);
    expect(await db().select().from(passwordChangeReportTokens).where(eq(passwordChangeReportTokens.userId, user.id))).toEqual([]);

    await runAll();

    const notices = await outbox.to(user.email);
    expect(notices).toHaveLength(1);
    expect(notices[0]?.subject).toBe(passwordChangedSubject);
    expect(notices[0]?.text).toContain(ip);
    expect(notices[0]?.text).toMatch(/Chrome 126 on Windows/);
    const token = tokenIn(notices[0], REPORT_LINK);
    expect(token).toHaveLength(43);
    expect(fullLinkIn(notices[0], REPORT_LINK)).toBe(`${env().APP_URL}/wasnt-me/${token}`);
    const reportRows = await db().select().from(passwordChangeReportTokens).where(eq(passwordChangeReportTokens.userId, user.id));
    expect(reportRows.map((r) => r.tokenHash)).toEqual([hashToken(token)]);
    expect(reportRows[0]?.usedAt).toBeNull();
  });

  it("forgets earlier wrong current passwords after a successful change", async () => {
    const user = await createUser(db());
    const bucket = () =>
      db()
        .select()
        .from(rateLimitBuckets)
        .where(eq(rateLimitBuckets.key, `${CHANGE_PASSWORD_LIMIT.name}:${user.id}`));

    for (let i = 0; i < CHANGE_PASSWORD_LIMIT.max - 1; i++) {
      expect((await change(user.id, WRONG_PASSWORD)).result).toEqual({ ok: false, code: "WRONG_PASSWORD" });
    }
    expect((await bucket())[0]?.count).toBe(CHANGE_PASSWORD_LIMIT.max - 1);
    expect((await change(user.id, CURRENT_PASSWORD, NEW_PASSWORD)).result).toMatchObject({ ok: true });
    expect(await bucket()).toEqual([]);

    // Without the reset, the second of these would already be refused.
    for (let i = 0; i < CHANGE_PASSWORD_LIMIT.max; i++) {
      expect((await change(user.id, WRONG_PASSWORD)).result).toEqual({ ok: false, code: "WRONG_PASSWORD" });
    }
    expect((await change(user.id, NEW_PASSWORD, "Another-New-Pass-52")).result).toMatchObject({ ok: false, code: "RATE_LIMITED" });
  });

  it("leaves an outstanding reset link usable when the change is refused", async () => {
    const user = await createUser(db());
    await issueResetLink(db(), user, { ip: null, userAgent: null });
    const resetToken = tokenIn((await outbox.to(user.email))[0], RESET_LINK);

    expect((await change(user.id, WRONG_PASSWORD)).result).toEqual({ ok: false, code: "WRONG_PASSWORD" });
    expect((await change(user.id, CURRENT_PASSWORD, "short")).result).toMatchObject({ ok: false, code: "PASSWORD_REJECTED" });

    expect(await inspectResetToken(db(), resetToken)).toMatchObject({ status: "valid" });
  });
  it("gives back a right current password's attempt when the new one is refused", async () => {
    const user = await createUser(db());
    for (let i = 0; i < CHANGE_PASSWORD_LIMIT.max - 1; i++) {
      expect((await change(user.id, WRONG_PASSWORD)).result).toEqual({ ok: false, code: "WRONG_PASSWORD" });
    }
    // Counted before the check, given back after it passed: the last try of the window stays.
    for (let i = 0; i < 3; i++) {
      expect((await change(user.id, CURRENT_PASSWORD, "short")).result).toMatchObject({ ok: false, code: "PASSWORD_REJECTED" });
    }
    expect((await change(user.id, CURRENT_PASSWORD)).result).toMatchObject({ ok: true });
  });

  // PGlite runs one query at a time: a race can only show on PostgreSQL.
  if (driver === "postgres")
    it("checks at most five of 20 parallel wrong current passwords: each is counted before it is checked", async () => {
      const user = await createUser(db());
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => change(user.id, `${WRONG_PASSWORD}-${i}`)));
      const codes = results.map(({ result }) => (result.ok ? "OK" : result.code));

      expect(codes.filter((code) => code === "WRONG_PASSWORD")).toHaveLength(CHANGE_PASSWORD_LIMIT.max);
      expect(codes.filter((code) => code === "RATE_LIMITED")).toHaveLength(20 - CHANGE_PASSWORD_LIMIT.max);
      // One audit row per password actually checked.
      expect(await eventsOf(db(), user.id, "password.change_failed")).toHaveLength(CHANGE_PASSWORD_LIMIT.max);
      expect((await change(user.id, CURRENT_PASSWORD)).result).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    });
});
