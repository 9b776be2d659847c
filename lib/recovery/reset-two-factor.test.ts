import { and, eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { auditEvents, passwordResetTokens, rateLimitBuckets, recoveryCodes, sessions, users } from "@/db/schema";
import { passwordChangedSubject } from "@/emails/password-changed";
import { describeEachDatabase } from "@/test-support/databases";
import { REPORT_LINK, installTestOutbox, tokenIn } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, collectingSchedule, dumpAllTables, RESET_LINK, uniqueIp } from "@/test-support/reset-helpers";
import { createUser, CURRENT_PASSWORD } from "@/test-support/users";
import { insertSession } from "@/test-support/sessions";
import { enrol } from "@/test-support/two-factor";
import { forcePasswordReset } from "../admin/users";
import { verifyCredentials } from "../auth/credentials";
import { changePassword } from "../accounts/change-password";
import { reportPasswordChange } from "./wasnt-me";
import { consumeAndChangeAtOnce, inspectResetToken, RESET_LINK_ATTEMPTS, resetLinkLimit, resetPassword } from "./reset";
import { issueResetLink } from "./deliver";
import { hashToken } from "../tokens";
import { SECOND_FACTOR_LIMIT } from "../second-factor/check";
import { removeTwoFactorByAdmin, twoFactorState } from "../second-factor/enrolment";
import { totpCode } from "../second-factor/totp";

const outbox = installTestOutbox();
const NEW_PASSWORD = "Brand-New-Pass-71";
const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });

describeEachDatabase("password reset with a second factor", ({ handle, driver }) => {
  const db = () => handle().db;

  /** A confirmed user with two-factor on and a fresh reset link. */
  async function enrolledUserWithLink() {
    const user = await createUser(db());
    const { key, codes } = await enrol(db(), user);
    return { user, key, codes, token: await resetLinkFor(user) };
  }

  async function resetLinkFor(user: { id: string; email: string }): Promise<string> {
    const before = new Set((await outbox.to(user.email)).map((m) => m.text));
    await issueResetLink(db(), user, { ip: null, userAgent: null });
    const fresh = (await outbox.to(user.email)).find((m) => !before.has(m.text) && RESET_LINK.test(m.text));
    return tokenIn(fresh, RESET_LINK);
  }

  async function attemptsCounted(userId: string): Promise<number> {
    const [bucket] = await db()
      .select()
      .from(rateLimitBuckets)
      .where(eq(rateLimitBuckets.key, `${SECOND_FACTOR_LIMIT.name}:${userId}`));
    return bucket?.count ?? 0;
  }

  /** Attempts counted against a reset link (RESET_LINK_ATTEMPTS). */
  async function linkAttempts(token: string): Promise<number> {
    const [link] = await db()
      .select({ id: passwordResetTokens.id })
      .from(passwordResetTokens)
      .where(eq(passwordResetTokens.tokenHash, hashToken(token)));
    const [bucket] = await db()
      .select()
      .from(rateLimitBuckets)
      .where(eq(rateLimitBuckets.key, `${resetLinkLimit().name}:${link?.id}`));
    return bucket?.count ?? 0;
  }

  async function eventsOf(userId: string, event: string) {
    return db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, userId), eq(auditEvents.event, event)));
  }

  it("says on inspection that the link will ask for a second factor, and not for an account without one", async () => {
    const { token } = await enrolledUserWithLink();
    expect(await inspectResetToken(db(), token)).toMatchObject({ status: "valid", secondFactorRequired: true });
    const plain = await createUser(db());
    expect(await inspectResetToken(db(), await resetLinkFor(plain))).toMatchObject({ status: "valid", secondFactorRequired: false });
  });

  it("refuses a new password without a code: nothing changes, nothing is counted, and the link still works", async () => {
    const { user, key, token } = await enrolledUserWithLink();
    const session = await insertSession(db(), { userId: user.id, userAgent: null, ip: "192.0.2.20" });
    const { schedule, pending } = collectingSchedule();

    for (const missing of [{}, { otp: "" }, { otp: "  ", recoveryCode: "" }, { otp: null, recoveryCode: null }]) {
      const result = await resetPassword(db(), { token, password: NEW_PASSWORD, ...missing, ...context() }, schedule);
      expect(result).toEqual({ ok: false, code: "SECOND_FACTOR_REQUIRED" });
    }

    expect(pending).toHaveLength(0);
    expect(await inspectResetToken(db(), token)).toMatchObject({ status: "valid" });
    expect((await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).ok).toBe(true);
    expect(await db().select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, user.id))).toEqual([{ id: session.id }]);
    expect(await attemptsCounted(user.id)).toBe(0);
    // The link then works with a code.
    expect(await resetPassword(db(), { token, password: NEW_PASSWORD, otp: totpCode(key), ...context() }, schedule)).toEqual({ ok: true });
  });

  it("stops a reset whose account turned two-factor on after its link was looked up: nothing changes, and the link then asks for a code", async () => {
    // The reset of an account without a second factor is one statement (consumeAndChangeAtOnce),
    // run after the look-up and the argon2 runs: two-factor turned on in between must still count.
    const user = await createUser(db());
    const token = await resetLinkFor(user);
    const session = await insertSession(db(), { userId: user.id, userAgent: null, ip: "192.0.2.21" });
    const { key } = await enrol(db(), user, { sessionId: session.id });
    const { schedule, pending } = collectingSchedule();

    const result = await consumeAndChangeAtOnce(
      db(),
      { token, userId: user.id, tokenId: "00000000-0000-0000-0000-000000000000", passwordHash: "not-a-real-hash", ...context() },
      schedule,
    );
    expect(result).toEqual({ ok: false, code: "SECOND_FACTOR_REQUIRED" });

    expect(pending).toHaveLength(0);
    expect(await inspectResetToken(db(), token)).toMatchObject({ status: "valid", secondFactorRequired: true });
    expect((await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).ok).toBe(true);
    expect(await db().select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, user.id))).toEqual([{ id: session.id }]);
    expect(await eventsOf(user.id, "password_reset.completed")).toHaveLength(0);
    expect(await resetPassword(db(), { token, password: NEW_PASSWORD, ...context() }, schedule)).toEqual({
      ok: false,
      code: "SECOND_FACTOR_REQUIRED",
    });
    expect(await resetPassword(db(), { token, password: NEW_PASSWORD, otp: totpCode(key), ...context() }, schedule)).toEqual({ ok: true });
  });

  it("refuses a wrong code: the link stays valid, the password stays, the attempt stays counted and is audited", async () => {
    const { user, key, codes, token } = await enrolledUserWithLink();
    const { schedule, pending } = collectingSchedule();

    expect(await resetPassword(db(), { token, password: NEW_PASSWORD, otp: "000000", ...context() }, schedule)).toEqual({
      ok: false,
      code: "INVALID_CODE",
    });
    expect(
      await resetPassword(db(), { token, password: NEW_PASSWORD, recoveryCode: "AAAA-BBBB-CCCC-DDDD", ...context() }, schedule),
    ).toEqual({
      ok: false,
      code: "INVALID_CODE",
    });

    expect(pending).toHaveLength(0);
    const [row] = await db()
      .select()
      .from(passwordResetTokens)
      .where(eq(passwordResetTokens.tokenHash, hashToken(token)));
    expect(row?.usedAt).toBeNull();
    expect(await inspectResetToken(db(), token)).toMatchObject({ status: "valid" });
    expect((await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).ok).toBe(true);
    expect(await attemptsCounted(user.id)).toBe(2);
    expect(await eventsOf(user.id, "two_factor.code_failed")).toHaveLength(2);
    expect(await eventsOf(user.id, "password_reset.completed")).toHaveLength(0);
    // No code was spent by the failures: every recovery code is still there.
    expect((await twoFactorState(db(), user.id)).recoveryCodesLeft).toBe(codes.length);

    expect(await resetPassword(db(), { token, password: NEW_PASSWORD, otp: totpCode(key), ...context() }, schedule)).toEqual({ ok: true });
    // A right code gives its attempt back; the wrong ones stay counted.
    expect(await attemptsCounted(user.id)).toBe(2);
  });

  it("checks the new password only once the code passed: a refused password spends no code, and the link stays valid", async () => {
    const { user, key, token } = await enrolledUserWithLink();
    const now = Date.now();
    const code = totpCode(key, now);
    const { schedule } = collectingSchedule();

    const weak = await resetPassword(db(), { token, password: "short", otp: code, ...context() }, schedule);
    expect(weak).toMatchObject({ ok: false, code: "PASSWORD_REJECTED" });
    const same = await resetPassword(db(), { token, password: CURRENT_PASSWORD, otp: code, ...context() }, schedule);
    expect(same).toEqual({ ok: false, code: "PASSWORD_REJECTED", passwordErrors: ["Choose a password different from your current one."] });
    // A right code gives its attempt of the account's budget back (the link's two stay counted).
    expect(await attemptsCounted(user.id)).toBe(0);
    expect(await linkAttempts(token)).toBe(2);

    // The same code still works: it was never spent.
    expect(await resetPassword(db(), { token, password: NEW_PASSWORD, otp: code, ...context() }, schedule)).toEqual({ ok: true });
  });

  it("compares nothing about the password before the code passed: a wrong code answers the same for the current password, a weak one and another", async () => {
    const { user, token } = await enrolledUserWithLink();
    const { schedule, pending } = collectingSchedule();
    const guesses = [CURRENT_PASSWORD, "short", "password", NEW_PASSWORD];

    const answers = [];
    for (const password of guesses) {
      answers.push(await resetPassword(db(), { token, password, otp: "000000", ...context() }, schedule));
    }

    expect(answers).toEqual(guesses.map(() => ({ ok: false, code: "INVALID_CODE" })));
    expect(pending).toHaveLength(0);
    expect((await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).ok).toBe(true);
    expect(await linkAttempts(token)).toBe(guesses.length);
    expect(await attemptsCounted(user.id)).toBe(guesses.length);
  });

  it(`spends the link at the ${RESET_LINK_ATTEMPTS}th failed attempt, whatever failed, and says so; the right code and password then no longer work`, async () => {
    const { user, key, token } = await enrolledUserWithLink();
    const { schedule, pending } = collectingSchedule();
    // Wrong codes and, with a right code, a refused password: every attempt counts against the link.
    for (let i = 0; i < RESET_LINK_ATTEMPTS - 1; i++) {
      const attempt = i % 2 === 0 ? { password: CURRENT_PASSWORD, otp: String(300000 + i) } : { password: "short", otp: totpCode(key) };
      const result = await resetPassword(db(), { token, ...attempt, ...context() }, schedule);
      expect(result.ok).toBe(false);
      expect(await inspectResetToken(db(), token)).toMatchObject({ status: "valid" });
    }

    const last = await resetPassword(db(), { token, password: CURRENT_PASSWORD, otp: "999999", ...context() }, schedule);
    expect(last).toEqual({ ok: false, code: "TOO_MANY_ATTEMPTS" });
    expect(await inspectResetToken(db(), token)).toEqual({ status: "used" });
    expect(await eventsOf(user.id, "password_reset.link_attempts_spent")).toHaveLength(1);

    const late = await resetPassword(
      db(),
      { token, password: NEW_PASSWORD, otp: totpCode(key, Date.now() + 30_000), ...context() },
      schedule,
    );
    expect(late).toEqual({ ok: false, code: "TOKEN_PROBLEM", problem: "used" });
    expect(pending).toHaveLength(0);
    expect((await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).ok).toBe(true);
    // A new link works.
    const fresh = await resetLinkFor(user);
    expect(
      await resetPassword(db(), { token: fresh, password: NEW_PASSWORD, otp: totpCode(key, Date.now() + 30_000), ...context() }, schedule),
    ).toEqual({ ok: true });
  });

  it("counts nothing against the link of an account without a second factor (the link alone may reset it)", async () => {
    const user = await createUser(db());
    const token = await resetLinkFor(user);
    const { schedule } = collectingSchedule();
    for (let i = 0; i < RESET_LINK_ATTEMPTS + 1; i++) {
      expect(await resetPassword(db(), { token, password: "short", ...context() }, schedule)).toMatchObject({ code: "PASSWORD_REJECTED" });
    }
    expect(await linkAttempts(token)).toBe(0);
    expect(await resetPassword(db(), { token, password: NEW_PASSWORD, ...context() }, schedule)).toEqual({ ok: true });
  });

  it("sets the password with a right authentication code, ends every session, keeps two-factor on, and the code cannot be replayed", async () => {
    const { user, key, token } = await enrolledUserWithLink();
    await insertSession(db(), { userId: user.id, userAgent: CHROME_ON_WINDOWS, ip: "192.0.2.21" });
    await insertSession(db(), { userId: user.id, userAgent: null, ip: "192.0.2.22", secondFactor: true });
    const code = totpCode(key);
    const { schedule, runAll } = collectingSchedule();

    expect(
      await resetPassword(db(), { token, password: NEW_PASSWORD, otp: ` ${code.slice(0, 3)} ${code.slice(3)} `, ...context() }, schedule),
    ).toEqual({ ok: true });

    expect(await db().select().from(sessions).where(eq(sessions.userId, user.id))).toEqual([]);
    expect(await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
    expect((await verifyCredentials(db(), user.email, NEW_PASSWORD)).ok).toBe(true);
    expect(await inspectResetToken(db(), token)).toEqual({ status: "used" });
    expect(await twoFactorState(db(), user.id)).toMatchObject({ enabled: true, recoveryCodesLeft: 10 });
    expect(await eventsOf(user.id, "password_reset.completed")).toHaveLength(1);
    await runAll();
    expect(await outbox.to(user.email, passwordChangedSubject)).toHaveLength(1);

    // The code was spent with the reset: on a new link it is refused.
    const next = await resetLinkFor(user);
    expect(await resetPassword(db(), { token: next, password: "Another-Pass-72", otp: code, ...context() }, schedule)).toEqual({
      ok: false,
      code: "INVALID_CODE",
    });
    expect(await inspectResetToken(db(), next)).toMatchObject({ status: "valid" });
  });

  it("accepts a recovery code once, and emails how many are left", async () => {
    const { user, codes, token } = await enrolledUserWithLink();
    const { schedule, runAll } = collectingSchedule();

    expect(
      await resetPassword(db(), { token, password: NEW_PASSWORD, recoveryCode: codes[2]!.toLowerCase(), ...context() }, schedule),
    ).toEqual({ ok: true });
    expect((await twoFactorState(db(), user.id)).recoveryCodesLeft).toBe(9);
    const used = await eventsOf(user.id, "two_factor.recovery_code_used");
    expect(used.map((e) => e.details)).toEqual([{ left: 9 }]);
    await runAll();
    expect(await outbox.to(user.email, "A recovery code was used (9 left)")).toHaveLength(1);

    const next = await resetLinkFor(user);
    expect(
      await resetPassword(db(), { token: next, password: "Another-Pass-73", recoveryCode: codes[2]!, ...context() }, schedule),
    ).toEqual({
      ok: false,
      code: "INVALID_CODE",
    });
    expect(await inspectResetToken(db(), next)).toMatchObject({ status: "valid" });

    const everyTable = JSON.stringify(await dumpAllTables(db()));
    for (const code of codes) expect(everyTable).not.toContain(code.replace(/-/g, ""));
    expect(everyTable).not.toContain(NEW_PASSWORD);
  });

  it("stops checking codes past the account's limit, even a right one, and says when to retry", async () => {
    const { user, key, token } = await enrolledUserWithLink();
    const { schedule } = collectingSchedule();
    // Over two links: each allows RESET_LINK_ATTEMPTS attempts, the account's budget is shared.
    const second = await resetLinkFor(user);
    for (let i = 0; i < SECOND_FACTOR_LIMIT.max; i++) {
      const link = i < 3 ? token : second;
      expect(
        await resetPassword(db(), { token: link, password: NEW_PASSWORD, otp: String(100000 + i), ...context() }, schedule),
      ).toMatchObject({
        code: "INVALID_CODE",
      });
    }
    const limited = await resetPassword(db(), { token: second, password: NEW_PASSWORD, otp: totpCode(key), ...context() }, schedule);
    expect(limited).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    expect(limited.ok === false && limited.code === "RATE_LIMITED" && limited.retryAfterSeconds).toBeGreaterThan(0);
    expect(await inspectResetToken(db(), token)).toMatchObject({ status: "valid" });
    expect(await inspectResetToken(db(), second)).toMatchObject({ status: "valid" });
    expect((await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).ok).toBe(true);
    expect(await eventsOf(user.id, "two_factor.throttled")).toHaveLength(1);
  });

  it('keeps the second factor through "This wasn\'t me": the fresh link still asks for a code', async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    const { schedule: later, runAll: sendNotice } = collectingSchedule();
    const changed = await changePassword(
      db(),
      { userId: user.id, currentPassword: CURRENT_PASSWORD, newPassword: "Intruder-Chose-This-8", ...context() },
      later,
    );
    if (!changed.ok) throw new Error(changed.code);
    await sendNotice();
    const [notice] = await outbox.to(user.email, passwordChangedSubject);
    const reportToken = tokenIn(notice, REPORT_LINK);

    const { schedule, runAll } = collectingSchedule();
    expect(await reportPasswordChange(db(), reportToken, context(), schedule)).toEqual({ ok: true });
    await runAll();

    const [row] = await db().select().from(users).where(eq(users.id, user.id));
    expect(row?.twoFactorEnabledAt).not.toBeNull();
    expect(row?.twoFactorSecret).not.toBeNull();
    expect(await twoFactorState(db(), user.id)).toMatchObject({ enabled: true, recoveryCodesLeft: 10 });
    const fresh = (await outbox.to(user.email)).find((m) => RESET_LINK.test(m.text));
    const token = tokenIn(fresh, RESET_LINK);
    expect(await inspectResetToken(db(), token)).toMatchObject({ status: "valid", secondFactorRequired: true });
    expect(await resetPassword(db(), { token, password: NEW_PASSWORD, ...context() }, schedule)).toEqual({
      ok: false,
      code: "SECOND_FACTOR_REQUIRED",
    });
    expect(await resetPassword(db(), { token, password: NEW_PASSWORD, otp: totpCode(key), ...context() }, schedule)).toEqual({ ok: true });
  });

  it("keeps the second factor through an admin's forced reset: the emailed link still asks for a code", async () => {
    const admin = await createUser(db());
    const user = await createUser(db());
    const { codes } = await enrol(db(), user);
    const { schedule, runAll } = collectingSchedule();
    expect(await forcePasswordReset(db(), user.id, { adminId: admin.id, ...context() }, schedule)).toMatchObject({ ok: true });
    await runAll();

    expect(await twoFactorState(db(), user.id)).toMatchObject({ enabled: true, recoveryCodesLeft: 10 });
    expect(await db().select().from(recoveryCodes).where(eq(recoveryCodes.userId, user.id))).toHaveLength(10);
    const token = tokenIn(
      (await outbox.to(user.email)).find((m) => RESET_LINK.test(m.text)),
      RESET_LINK,
    );
    expect(await resetPassword(db(), { token, password: NEW_PASSWORD, ...context() }, schedule)).toEqual({
      ok: false,
      code: "SECOND_FACTOR_REQUIRED",
    });
    expect(await resetPassword(db(), { token, password: NEW_PASSWORD, recoveryCode: codes[0]!, ...context() }, schedule)).toEqual({
      ok: true,
    });
    expect(await twoFactorState(db(), user.id)).toMatchObject({ enabled: true, recoveryCodesLeft: 9 });
  });

  it("lets the same link work with the password alone once an admin removed two-factor for an owner who lost both", async () => {
    const admin = await createUser(db());
    const { user, token } = await enrolledUserWithLink();
    const { schedule } = collectingSchedule();
    expect(await resetPassword(db(), { token, password: NEW_PASSWORD, ...context() }, schedule)).toEqual({
      ok: false,
      code: "SECOND_FACTOR_REQUIRED",
    });
    expect(await removeTwoFactorByAdmin(db(), { userId: user.id, adminId: admin.id, ...context() }, schedule)).toEqual({ ok: true });
    expect(await inspectResetToken(db(), token)).toMatchObject({ status: "valid", secondFactorRequired: false });
    expect(await resetPassword(db(), { token, password: NEW_PASSWORD, ...context() }, schedule)).toEqual({ ok: true });
  });

  // PGlite runs one query at a time: a race can only show on PostgreSQL.
  if (driver === "postgres") {
    it("lets exactly one of twenty concurrent submissions with valid recovery codes win, and spends only the winner's code", async () => {
      const { user, codes, token } = await enrolledUserWithLink();
      const { schedule, pending } = collectingSchedule();
      const passwords = Array.from({ length: 20 }, (_, i) => `Racing-Pass-${i}-!q`);

      const results = await Promise.all(
        passwords.map((password, i) =>
          resetPassword(db(), { token, password, recoveryCode: codes[i % codes.length]!, ...context() }, schedule),
        ),
      );

      const winners = results.flatMap((r, i) => (r.ok ? [i] : []));
      expect(winners).toHaveLength(1);
      // The others lost the token, or were refused before any check (past the code budget;
      // how many depends on when the winner's attempt was given back).
      const losers = results.filter((r) => !r.ok).map((r) => (r.ok ? "ok" : r.code === "TOKEN_PROBLEM" ? `link ${r.problem}` : r.code));
      // (Or past the link's own limit of attempts, which only RESET_LINK_ATTEMPTS of them pass.)
      expect(losers.filter((c) => c !== "link used" && c !== "RATE_LIMITED" && c !== "TOO_MANY_ATTEMPTS")).toEqual([]);
      expect(losers.filter((c) => c === "link used").length).toBeGreaterThanOrEqual(1);
      // One password-changed notice and one recovery-code notice: the winner's. Only the
      // winner's recovery code is spent; the losers' rolled back with their transactions.
      expect(pending).toHaveLength(2);
      expect((await twoFactorState(db(), user.id)).recoveryCodesLeft).toBe(9);
      expect(await eventsOf(user.id, "two_factor.recovery_code_used")).toHaveLength(1);
      expect(await eventsOf(user.id, "two_factor.code_failed")).toHaveLength(0);
      expect(await eventsOf(user.id, "password_reset.completed")).toHaveLength(1);
      expect((await verifyCredentials(db(), user.email, passwords[winners[0]!]!)).ok).toBe(true);
    });

    it("checks at most five of twelve parallel wrong codes on one link, and the link is then spent", async () => {
      const { user, token } = await enrolledUserWithLink();
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          resetPassword(db(), { token, password: NEW_PASSWORD, otp: String(200000 + i), ...context() }, () => {}),
        ),
      );
      const codes = results.map((r) => (r.ok ? "ok" : r.code));
      // Only the link's RESET_LINK_ATTEMPTS attempts may reach the check (fewer when one of them
      // finds the link already spent by the last one); the rest are refused unchecked: over
      // the link's limit, or, arriving after it was spent, a used link.
      const judged = (await eventsOf(user.id, "two_factor.code_failed")).length;
      expect(judged).toBeGreaterThanOrEqual(1);
      expect(judged).toBeLessThanOrEqual(Math.min(RESET_LINK_ATTEMPTS, SECOND_FACTOR_LIMIT.max));
      expect(codes.filter((c) => c === "INVALID_CODE").length).toBeLessThanOrEqual(RESET_LINK_ATTEMPTS - 1);
      expect(codes.filter((c) => c !== "INVALID_CODE" && c !== "TOO_MANY_ATTEMPTS" && c !== "TOKEN_PROBLEM")).toEqual([]);
      expect(await inspectResetToken(db(), token)).toEqual({ status: "used" });
    });

    it("never lets parallel attempts on one link past its limit: three judged, then ten at once, two more judged (counted before the check)", async () => {
      const { user, codes, token } = await enrolledUserWithLink();
      // Right recovery codes with a refused password: judged, the account's budget given back,
      // the link's count kept. So only the link's own limit can stop the parallel ones.
      for (let i = 0; i < 3; i++) {
        expect(await resetPassword(db(), { token, password: "short", recoveryCode: codes[i]!, ...context() }, () => {})).toMatchObject({
          code: "PASSWORD_REJECTED",
        });
      }
      expect(await attemptsCounted(user.id)).toBe(0);

      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          resetPassword(db(), { token, password: NEW_PASSWORD, otp: String(400000 + i), ...context() }, () => {}),
        ),
      );
      const answers = results.map((r) => (r.ok ? "ok" : r.code));
      // Every wrong code that was checked is audited: at most the two attempts the link had left
      // (one fewer when it finds the link already spent by the other). The rest are refused
      // unchecked: over the link's limit, or, arriving after it was spent, a used link.
      const judged = (await eventsOf(user.id, "two_factor.code_failed")).length;
      expect(judged).toBeGreaterThanOrEqual(1);
      expect(judged).toBeLessThanOrEqual(RESET_LINK_ATTEMPTS - 3);
      expect(answers.filter((c) => c === "INVALID_CODE").length).toBeLessThanOrEqual(RESET_LINK_ATTEMPTS - 3 - 1);
      expect(answers.filter((c) => c !== "INVALID_CODE" && c !== "TOO_MANY_ATTEMPTS" && c !== "TOKEN_PROBLEM")).toEqual([]);
      // Counted: the three before, and each parallel attempt that found the link unspent (some
      // of those counted, then found it spent, and answer as a used link too).
      const counted = await linkAttempts(token);
      expect(counted).toBeGreaterThanOrEqual(3 + answers.filter((c) => c !== "TOKEN_PROBLEM").length);
      expect(counted).toBeLessThanOrEqual(13);
      expect(await inspectResetToken(db(), token)).toEqual({ status: "used" });
      expect((await twoFactorState(db(), user.id)).recoveryCodesLeft).toBe(codes.length);
    });
  }
});
