import { and, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import { auditEvents, sessions, twoFactorChallenges } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { CHROME_ON_WINDOWS, uniqueIp } from "@/test-support/reset-helpers";
import { createUser } from "@/test-support/users";
import { enrol } from "@/test-support/two-factor";
import { changePassword } from "../accounts/change-password";
import { hashToken } from "../tokens";
import { SIGN_IN_CHALLENGE_TTL_SECONDS } from "../second-factor/sign-in-step";
import { totpCode } from "../second-factor/totp";
import { findSession } from "./sessions";
import { checkSignInPassword, completeSignIn } from "./sign-in";

const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });
const noSchedule = () => {};

async function sessionsOf(db: Database, userId: string) {
  return db.select({ id: sessions.id, secondFactorAt: sessions.secondFactorAt }).from(sessions).where(eq(sessions.userId, userId));
}

/** The password step for `user`; fails the test unless it asks for the second factor. */
async function passwordStep(db: Database, user: { email: string; password: string }): Promise<string> {
  const step = await checkSignInPassword(db, { email: user.email, password: user.password, ...context() });
  if (step.ok || step.code !== "SECOND_FACTOR_REQUIRED") throw new Error(`expected a second step, got ${JSON.stringify(step)}`);
  return step.challenge.token;
}

describeEachDatabase("sign-in with a second factor", ({ handle }) => {
  const db = () => handle().db;

  it("a right password alone stores no session for an account with two-factor on; the right code then does, marked as two-factor", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);

    const step = await checkSignInPassword(db(), { email: user.email, password: user.password, ...context() });
    expect(step).toMatchObject({ ok: false, code: "SECOND_FACTOR_REQUIRED" });
    if (step.ok || step.code !== "SECOND_FACTOR_REQUIRED") throw new Error("no challenge");
    expect(await sessionsOf(db(), user.id)).toEqual([]);
    // Only the token's hash is stored.
    const [row] = await db().select().from(twoFactorChallenges).where(eq(twoFactorChallenges.userId, user.id));
    expect(row!.tokenHash).toBe(hashToken(step.challenge.token));
    expect(JSON.stringify(row)).not.toContain(step.challenge.token);

    const wrong = await completeSignIn(db(), { token: step.challenge.token, otp: "000000", ...context() }, noSchedule);
    expect(wrong).toEqual({ ok: false, code: "INVALID_CODE" });
    expect(await sessionsOf(db(), user.id)).toEqual([]);

    const done = await completeSignIn(db(), { token: step.challenge.token, otp: totpCode(key), ...context() }, noSchedule);
    if (!done.ok) throw new Error(done.code);
    expect(done.method).toBe("totp");
    const stored = await sessionsOf(db(), user.id);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.secondFactorAt).toBeInstanceOf(Date);
    expect(await findSession(db(), done.session.sessionToken)).toMatchObject({ user: { id: user.id } });
    const signedIn = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, user.id), eq(auditEvents.event, "user.signed_in")));
    expect(signedIn.map((e) => e.details)).toEqual([{ second_factor: true }]);

    // The step is spent with the session: the same token never signs in twice.
    const again = await completeSignIn(
      db(),
      { token: step.challenge.token, otp: totpCode(key, Date.now() + 30_000), ...context() },
      noSchedule,
    );
    expect(again).toEqual({ ok: false, code: "CHALLENGE_EXPIRED" });
  });

  it("an account without two-factor signs in at the password step, unchanged", async () => {
    const user = await createUser(db());
    const step = await checkSignInPassword(db(), { email: user.email, password: user.password, ...context() });
    expect(step).toMatchObject({ ok: true, user: { id: user.id, twoFactor: false } });
    expect(await db().select().from(twoFactorChallenges).where(eq(twoFactorChallenges.userId, user.id))).toEqual([]);
  });

  it("a wrong password starts no second step", async () => {
    const user = await createUser(db());
    await enrol(db(), user);
    const step = await checkSignInPassword(db(), { email: user.email, password: "Wrong-Password-1", ...context() });
    expect(step).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
    expect(await db().select().from(twoFactorChallenges).where(eq(twoFactorChallenges.userId, user.id))).toEqual([]);
  });

  it("the pending step lasts 5 minutes: once expired, a right code signs nobody in", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    const token = await passwordStep(db(), user);
    const [row] = await db()
      .select()
      .from(twoFactorChallenges)
      .where(eq(twoFactorChallenges.tokenHash, hashToken(token)));
    expect((row!.expiresAt.getTime() - row!.createdAt.getTime()) / 1000).toBe(SIGN_IN_CHALLENGE_TTL_SECONDS);
    expect(SIGN_IN_CHALLENGE_TTL_SECONDS).toBe(300);

    // Five minutes and a second later (the database's clock decides).
    await db()
      .update(twoFactorChallenges)
      .set({ createdAt: sql`now() - interval '301 seconds'`, expiresAt: sql`now() - interval '1 second'` })
      .where(eq(twoFactorChallenges.tokenHash, hashToken(token)));
    expect(await completeSignIn(db(), { token, otp: totpCode(key), ...context() }, noSchedule)).toEqual({
      ok: false,
      code: "CHALLENGE_EXPIRED",
    });
    expect(await sessionsOf(db(), user.id)).toEqual([]);
  });

  it("belongs to the browser holding its token: another token, even another real one of the same account, does not finish it", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    const mine = await passwordStep(db(), user);
    const forged = mine.slice(0, -1) + (mine.endsWith("A") ? "B" : "A");
    for (const token of [forged, "not-a-token", ""]) {
      expect(await completeSignIn(db(), { token, otp: totpCode(key), ...context() }, noSchedule)).toEqual({
        ok: false,
        code: "CHALLENGE_EXPIRED",
      });
    }
    expect(await sessionsOf(db(), user.id)).toEqual([]);

    // A second browser that also typed the password has its own step; finishing it leaves mine pending.
    const theirs = await passwordStep(db(), user);
    const done = await completeSignIn(db(), { token: theirs, otp: totpCode(key), ...context() }, noSchedule);
    expect(done.ok).toBe(true);
    const [mineRow] = await db()
      .select()
      .from(twoFactorChallenges)
      .where(eq(twoFactorChallenges.tokenHash, hashToken(mine)));
    expect(mineRow!.usedAt).toBeNull();
  });

  it("a password change between the two steps wins: the right code then stores no session", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    const token = await passwordStep(db(), user);

    // Changed elsewhere (as a reset or "This wasn't me" would: the credentials version moves on).
    const changed = await changePassword(
      db(),
      { userId: user.id, currentPassword: user.password, newPassword: "Brand-New-Pass-41", ...context() },
      noSchedule,
    );
    expect(changed.ok).toBe(true);
    const before = await sessionsOf(db(), user.id);

    expect(await completeSignIn(db(), { token, otp: totpCode(key), ...context() }, noSchedule)).toEqual({
      ok: false,
      code: "CHALLENGE_EXPIRED",
    });
    expect(await sessionsOf(db(), user.id)).toEqual(before);
    const failed = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, user.id), eq(auditEvents.event, "user.sign_in_failed")));
    expect(failed.map((e) => e.details)).toContainEqual({ reason: "credentials_changed" });
  });

  it("a recovery code finishes the step once; the same code then fails", async () => {
    const user = await createUser(db());
    const { codes } = await enrol(db(), user);
    const first = await completeSignIn(db(), { token: await passwordStep(db(), user), recoveryCode: codes[0]!, ...context() }, noSchedule);
    expect(first).toMatchObject({ ok: true, method: "recovery_code" });
    const second = await completeSignIn(db(), { token: await passwordStep(db(), user), recoveryCode: codes[0]!, ...context() }, noSchedule);
    expect(second).toEqual({ ok: false, code: "INVALID_CODE" });
    expect((await sessionsOf(db(), user.id)).every((s) => s.secondFactorAt !== null)).toBe(true);
  });
});
