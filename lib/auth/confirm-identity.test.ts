import { and, eq, sql } from "drizzle-orm";
import { afterEach, expect, it } from "vitest";
import { auditEvents, sessions, users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, collectingSchedule, uniqueIp } from "@/test-support/reset-helpers";
import { insertSession } from "@/test-support/sessions";
import { enrol } from "@/test-support/two-factor";
import { createUser, type TestUser } from "@/test-support/users";
import { overrideEnvForTests } from "../env";
import { changePassword } from "../accounts/change-password";
import { SECOND_FACTOR_LIMIT } from "../second-factor/check";
import { totpCode } from "../second-factor/totp";
import { CONFIRM_IDENTITY_LIMIT, confirmIdentity, isIdentityConfirmed } from "./confirm-identity";
import { deviceCookieAfterSignIn } from "./device-token";
import { findSession } from "./sessions";

const outbox = installTestOutbox();
const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });
const NOTHING_LATER = () => {};

describeEachDatabase("Confirm it's you", ({ handle, driver }) => {
  const db = () => handle().db;

  afterEach(() => {
    overrideEnvForTests({});
  });

  /** A user and one of its sessions whose sign-in (password, and code when `secondFactor`) was `minutesAgo`. */
  async function sessionOf(user: TestUser, minutesAgo: number, secondFactor = false) {
    const session = await insertSession(db(), { userId: user.id, userAgent: null, ip: null, secondFactor });
    await setBack(session.id, minutesAgo);
    return { userId: user.id, sessionId: session.id };
  }

  /** Moves the session's password entry, and its second factor if it passed one, `minutes` back. */
  async function setBack(sessionId: string, minutes: number) {
    await db()
      .update(sessions)
      .set({
        passwordCheckedAt: sql`now() - make_interval(mins => ${minutes})`,
        secondFactorAt: sql`case when ${sessions.secondFactorAt} is null then null else now() - make_interval(mins => ${minutes}) end`,
      })
      .where(eq(sessions.id, sessionId));
  }

  const stampOf = async (sessionId: string) =>
    (await db().select({ at: sessions.passwordCheckedAt }).from(sessions).where(eq(sessions.id, sessionId)))[0]?.at;

  const eventsOf = (userId: string, event: "identity.confirmed" | "identity.confirm_failed" | "identity.confirm_throttled") =>
    db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, userId), eq(auditEvents.event, event)));

  it("counts a sign-in or confirmation within REAUTH_MINUTES, and not an older one (the database's clock)", async () => {
    const user = await createUser(db());
    expect(await isIdentityConfirmed(db(), await sessionOf(user, 9))).toBe(true);
    expect(await isIdentityConfirmed(db(), await sessionOf(user, 11))).toBe(false);
    overrideEnvForTests({ REAUTH_MINUTES: "30" });
    expect(await isIdentityConfirmed(db(), await sessionOf(user, 29))).toBe(true);
    overrideEnvForTests({ REAUTH_MINUTES: "1" });
    expect(await isIdentityConfirmed(db(), await sessionOf(user, 2))).toBe(false);
  });

  it("is another user's session never, whatever id is asked about", async () => {
    const user = await createUser(db());
    const other = await createUser(db());
    const session = await sessionOf(user, 0);
    expect(await isIdentityConfirmed(db(), { userId: other.id, sessionId: session.sessionId })).toBe(false);
  });

  it("confirms with the right password and stamps this session; a wrong one stamps nothing; both audited", async () => {
    const user = await createUser(db());
    const session = await sessionOf(user, 30);
    const before = await stampOf(session.sessionId);
    const wrong = await confirmIdentity(db(), { ...session, password: "Not-The-Password-1", ...context() }, NOTHING_LATER);
    expect(wrong).toEqual({ ok: false, code: "WRONG_PASSWORD" });
    expect(await stampOf(session.sessionId)).toEqual(before);
    expect(await isIdentityConfirmed(db(), session)).toBe(false);
    expect((await eventsOf(user.id, "identity.confirm_failed"))[0]?.details).toEqual({ reason: "wrong_password" });

    expect(await confirmIdentity(db(), { ...session, password: user.password, ...context() }, NOTHING_LATER)).toEqual({
      ok: true,
      method: "password",
    });
    expect(await isIdentityConfirmed(db(), session)).toBe(true);
    expect((await eventsOf(user.id, "identity.confirmed"))[0]?.details).toEqual({ method: "password" });
  });

  it("needs the code when two-factor is on: the password alone confirms nothing, counts nothing, says nothing about it", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    // A password-only sign-in (before two-factor was turned on) is not a confirmation either.
    const passwordOnly = await sessionOf(user, 0);
    expect(await isIdentityConfirmed(db(), passwordOnly)).toBe(false);
    const session = await sessionOf(user, 30, true);
    expect(await isIdentityConfirmed(db(), session)).toBe(false);

    for (const password of [user.password, "Not-The-Password-1"]) {
      expect(await confirmIdentity(db(), { ...session, password, ...context() }, NOTHING_LATER)).toEqual({
        ok: false,
        code: "SECOND_FACTOR_REQUIRED",
      });
    }
    expect(await eventsOf(user.id, "identity.confirm_failed")).toHaveLength(0);

    const wrongCode = await confirmIdentity(db(), { ...session, password: user.password, otp: "000000", ...context() }, NOTHING_LATER);
    expect(wrongCode).toEqual({ ok: false, code: "INVALID_CODE" });
    expect(await isIdentityConfirmed(db(), session)).toBe(false);
    expect((await eventsOf(user.id, "identity.confirm_failed"))[0]?.details).toEqual({ reason: "wrong_code" });

    const wrongPassword = await confirmIdentity(
      db(),
      { ...session, password: "Not-The-Password-1", otp: totpCode(key), ...context() },
      NOTHING_LATER,
    );
    expect(wrongPassword).toEqual({ ok: false, code: "WRONG_PASSWORD" });

    const right = await confirmIdentity(db(), { ...session, password: user.password, otp: totpCode(key), ...context() }, NOTHING_LATER);
    expect(right).toEqual({ ok: true, method: "totp" });
    expect(await isIdentityConfirmed(db(), session)).toBe(true);
    // The password-only session confirms too, with the code: it has now passed a second factor.
    const again = await confirmIdentity(
      db(),
      { ...passwordOnly, password: user.password, otp: totpCode(key, Date.now() + 30_000), ...context() },
      NOTHING_LATER,
    );
    expect(again).toEqual({ ok: true, method: "totp" });
    expect(await isIdentityConfirmed(db(), passwordOnly)).toBe(true);
  });

  it("spends a recognised browser's own code budget: a guesser keeping the shared one spent does not block the owner", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    const session = await sessionOf(user, 30, true);
    // Someone who knows the password spends the account's shared code budget.
    for (let i = 0; i < SECOND_FACTOR_LIMIT.max; i++) {
      const guess = await confirmIdentity(db(), { ...session, password: user.password, otp: "000000", ...context() }, NOTHING_LATER);
      expect(guess).toEqual({ ok: false, code: "INVALID_CODE" });
    }
    const shared = await confirmIdentity(db(), { ...session, password: user.password, otp: totpCode(key), ...context() }, NOTHING_LATER);
    expect(shared).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    // Another account's device token is no device here; the owner's own browser passes.
    const foreign = deviceCookieAfterSignIn(null, "someone-else@example.com", null);
    const input = { ...session, password: user.password, otp: totpCode(key), ...context() };
    expect(await confirmIdentity(db(), { ...input, deviceCookie: foreign }, NOTHING_LATER)).toMatchObject({ code: "RATE_LIMITED" });
    const owner = deviceCookieAfterSignIn(null, user.email, null);
    expect(await confirmIdentity(db(), { ...input, deviceCookie: owner }, NOTHING_LATER)).toEqual({ ok: true, method: "totp" });
  });

  it("takes a recovery code once, and emails how many are left", async () => {
    const user = await createUser(db());
    const { codes } = await enrol(db(), user);
    const session = await sessionOf(user, 30, true);
    const scheduled = collectingSchedule();
    const input = { ...session, password: user.password, recoveryCode: codes[0]!, ...context() };
    expect(await confirmIdentity(db(), input, scheduled.schedule)).toEqual({ ok: true, method: "recovery_code" });
    await setBack(session.sessionId, 30);
    expect(await confirmIdentity(db(), input, NOTHING_LATER)).toEqual({ ok: false, code: "INVALID_CODE" });
    await scheduled.runAll();
    expect(await outbox.to(user.email, "A recovery code was used (9 left)")).toHaveLength(1);
  });

  it("stamps no session of an older credentials version, and spends no code for it", async () => {
    const user = await createUser(db());
    const { codes } = await enrol(db(), user);
    const session = await sessionOf(user, 30, true);
    const before = await stampOf(session.sessionId);
    await db()
      .update(users)
      .set({ credentialsVersion: sql`${users.credentialsVersion} + 1` })
      .where(eq(users.id, user.id));
    const input = { ...session, password: user.password, recoveryCode: codes[0]!, ...context() };
    expect(await confirmIdentity(db(), input, NOTHING_LATER)).toEqual({ ok: false, code: "SESSION_ENDED" });
    expect(await stampOf(session.sessionId)).toEqual(before);
    expect(await isIdentityConfirmed(db(), session)).toBe(false);
    // The recovery code was rolled back with the stamp: it still works.
    await db().update(users).set({ credentialsVersion: 1 }).where(eq(users.id, user.id));
    expect(await confirmIdentity(db(), input, NOTHING_LATER)).toEqual({ ok: true, method: "recovery_code" });

    const plain = await createUser(db());
    const plainSession = await sessionOf(plain, 30);
    await db()
      .update(users)
      .set({ credentialsVersion: sql`${users.credentialsVersion} + 1` })
      .where(eq(users.id, plain.id));
    const plainBefore = await stampOf(plainSession.sessionId);
    expect(await confirmIdentity(db(), { ...plainSession, password: plain.password, ...context() }, NOTHING_LATER)).toEqual({
      ok: false,
      code: "SESSION_ENDED",
    });
    expect(await stampOf(plainSession.sessionId)).toEqual(plainBefore);
  });

  it("does not count a password change as a code: the fresh session keeps its mark's old time", async () => {
    const user = await createUser(db());
    await enrol(db(), user);
    const session = await sessionOf(user, 30, true);
    const changed = await changePassword(
      db(),
      {
        userId: user.id,
        currentPassword: user.password,
        newPassword: "Brand-New-Password-42",
        currentSessionId: session.sessionId,
        ...context(),
      },
      NOTHING_LATER,
    );
    if (!changed.ok) throw new Error(changed.code);
    const fresh = await findSession(db(), changed.session.sessionToken);
    const [row] = await db().select().from(sessions).where(eq(sessions.id, fresh!.session.id));
    expect(row!.secondFactorAt).not.toBeNull();
    expect(await isIdentityConfirmed(db(), { userId: user.id, sessionId: fresh!.session.id })).toBe(false);
  });

  it("refuses every try past the per-account limit, the right password too, and audits the refusal once", async () => {
    const user = await createUser(db());
    const session = await sessionOf(user, 30);
    for (let i = 0; i < CONFIRM_IDENTITY_LIMIT.max; i++) {
      const result = await confirmIdentity(db(), { ...session, password: `Wrong-Guess-${i}x`, ...context() }, NOTHING_LATER);
      expect(result).toEqual({ ok: false, code: "WRONG_PASSWORD" });
    }
    for (let i = 0; i < 2; i++) {
      const refused = await confirmIdentity(db(), { ...session, password: user.password, ...context() }, NOTHING_LATER);
      expect(refused).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    }
    expect(await isIdentityConfirmed(db(), session)).toBe(false);
    expect(await eventsOf(user.id, "identity.confirm_throttled")).toHaveLength(1);
  });

  // PGlite runs one query at a time: a race can only show on PostgreSQL.
  if (driver === "postgres")
    it("checks at most the limit's number of passwords among 30 parallel wrong confirmations", async () => {
      const user = await createUser(db());
      const session = await sessionOf(user, 30);
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          confirmIdentity(db(), { ...session, password: `Parallel-Guess-${i}x`, ...context() }, NOTHING_LATER),
        ),
      );
      // Every checked password leaves one "confirm_failed" row: no more than the limit were checked.
      expect(await eventsOf(user.id, "identity.confirm_failed")).toHaveLength(CONFIRM_IDENTITY_LIMIT.max);
      expect(results.filter((r) => !r.ok && r.code === "WRONG_PASSWORD")).toHaveLength(CONFIRM_IDENTITY_LIMIT.max);
      expect(results.filter((r) => !r.ok && r.code === "RATE_LIMITED")).toHaveLength(30 - CONFIRM_IDENTITY_LIMIT.max);
    });
});
