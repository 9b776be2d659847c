import { and, eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { auditEvents, users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, uniqueIp } from "@/test-support/reset-helpers";
import { insertSession } from "@/test-support/sessions";
import { createUser } from "@/test-support/users";
import { enrol } from "@/test-support/two-factor";
import { overrideEnvForTests } from "../env";
import { seal } from "../jobs/seal";
import { checkSecondFactor, SECOND_FACTOR_LIMIT } from "./check";
import { replaceRecoveryCodes } from "./enrolment";
import { passSignInChallenge, startSignInChallenge } from "./sign-in-step";
import { totpCode } from "./totp";

const outbox = installTestOutbox();

const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });

describeEachDatabase("checking a second factor", ({ handle, driver }) => {
  const db = () => handle().db;

  it("refuses a TOTP code that was already accepted (no replay within its window), and an older one after it", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    const now = Date.now();
    const code = totpCode(key, now);
    expect(await checkSecondFactor(db(), user.id, { otp: code }, now)).toEqual({ ok: true, method: "totp" });
    expect(await checkSecondFactor(db(), user.id, { otp: code }, now)).toEqual({ ok: false, code: "INVALID_CODE" });
    expect(await checkSecondFactor(db(), user.id, { otp: totpCode(key, now - 30_000) }, now)).toEqual({ ok: false, code: "INVALID_CODE" });
    expect(await checkSecondFactor(db(), user.id, { otp: totpCode(key, now + 30_000) }, now)).toEqual({ ok: true, method: "totp" });
  });

  it("accepts each recovery code once, counting down, and new codes replace all old ones", async () => {
    const user = await createUser(db());
    const { codes } = await enrol(db(), user);
    expect(await checkSecondFactor(db(), user.id, { recoveryCode: codes[0]!.toLowerCase() })).toEqual({
      ok: true,
      method: "recovery_code",
      recoveryCodesLeft: 9,
    });
    expect(await checkSecondFactor(db(), user.id, { recoveryCode: codes[0]! })).toEqual({ ok: false, code: "INVALID_CODE" });
    expect(await checkSecondFactor(db(), user.id, { recoveryCode: "not-a-code" })).toEqual({ ok: false, code: "INVALID_CODE" });

    const session = await insertSession(db(), { userId: user.id, userAgent: null, ip: null, secondFactor: true });
    const replaced = await replaceRecoveryCodes(db(), { userId: user.id, sessionId: session.id, ...context() }, () => {});
    if (!replaced.ok) throw new Error(replaced.code);
    expect(await checkSecondFactor(db(), user.id, { recoveryCode: codes[1]! })).toEqual({ ok: false, code: "INVALID_CODE" });
    expect(await checkSecondFactor(db(), user.id, { recoveryCode: replaced.recoveryCodes[0]! })).toMatchObject({
      ok: true,
      recoveryCodesLeft: 9,
    });
  });

  it("counts attempts before checking and gives a right code's attempt back", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    for (let i = 0; i < SECOND_FACTOR_LIMIT.max - 1; i++) {
      const challenge = await startSignInChallenge(db(), { userId: user.id, credentialsVersion: 1, ...context() });
      expect(await passSignInChallenge(db(), { token: challenge.token, otp: "000000", ...context() }, () => {})).toMatchObject({
        code: "INVALID_CODE",
      });
    }
    const challenge = await startSignInChallenge(db(), { userId: user.id, credentialsVersion: 1, ...context() });
    expect(await passSignInChallenge(db(), { token: challenge.token, otp: totpCode(key), ...context() }, () => {})).toMatchObject({
      ok: true,
    });
    const last = await startSignInChallenge(db(), { userId: user.id, credentialsVersion: 1, ...context() });
    expect(await passSignInChallenge(db(), { token: last.token, otp: "000000", ...context() }, () => {})).toMatchObject({
      code: "INVALID_CODE",
    });
    expect(
      await passSignInChallenge(db(), { token: last.token, otp: totpCode(key, Date.now() + 30_000), ...context() }, () => {}),
    ).toMatchObject({ code: "RATE_LIMITED" });
    expect(
      await passSignInChallenge(db(), { token: last.token, otp: totpCode(key, Date.now() + 30_000), ...context() }, () => {}),
    ).toMatchObject({ code: "RATE_LIMITED" });
    // The first refusal of the window is audited once, not every one after it.
    const throttled = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, user.id), eq(auditEvents.event, "two_factor.throttled")));
    expect(throttled).toHaveLength(1);
  });

  // PGlite runs one query at a time: a race can only show on PostgreSQL.
  if (driver === "postgres")
    it("checks at most 5 of 30 parallel wrong codes, and accepts one code once among 10 parallel uses", async () => {
      const user = await createUser(db());
      const { key } = await enrol(db(), user);
      const challenges = await Promise.all(
        Array.from({ length: 30 }, () => startSignInChallenge(db(), { userId: user.id, credentialsVersion: 1, ...context() })),
      );
      const wrong = await Promise.all(
        challenges.map((c, i) => passSignInChallenge(db(), { token: c.token, otp: String(100000 + i), ...context() }, () => {})),
      );
      expect(wrong.filter((r) => !r.ok && r.code === "INVALID_CODE")).toHaveLength(SECOND_FACTOR_LIMIT.max);
      expect(wrong.filter((r) => !r.ok && r.code === "RATE_LIMITED")).toHaveLength(30 - SECOND_FACTOR_LIMIT.max);
      const failed = await db()
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.userId, user.id), eq(auditEvents.event, "two_factor.code_failed")));
      expect(failed).toHaveLength(SECOND_FACTOR_LIMIT.max);

      const other = await createUser(db());
      const enrolled = await enrol(db(), other);
      const code = totpCode(enrolled.key, Date.now() + 30_000);
      const uses = await Promise.all(Array.from({ length: 10 }, () => checkSecondFactor(db(), other.id, { otp: code })));
      expect(uses.filter((r) => r.ok)).toHaveLength(1);
      expect(key).not.toBe(enrolled.key);
    });

  it("reads a key sealed under AUTH_SECRET_PREVIOUS and seals it again under the new secret", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    const oldSecret = "an-old-secret-that-is-at-least-32-chars-long";
    outbox.configure({ AUTH_SECRET: oldSecret });
    await db()
      .update(users)
      .set({ twoFactorSecret: seal(key, "two-factor") })
      .where(eq(users.id, user.id));
    outbox.configure({ AUTH_SECRET: "the-new-secret-that-is-at-least-32-chars-long", AUTH_SECRET_PREVIOUS: oldSecret });
    const [before] = await db().select({ s: users.twoFactorSecret }).from(users).where(eq(users.id, user.id));
    expect(await checkSecondFactor(db(), user.id, { otp: totpCode(key) })).toMatchObject({ ok: true });
    const [after] = await db().select({ s: users.twoFactorSecret }).from(users).where(eq(users.id, user.id));
    expect(after!.s).not.toBe(before!.s);
    outbox.configure({ AUTH_SECRET: "the-new-secret-that-is-at-least-32-chars-long" });
    expect(await checkSecondFactor(db(), user.id, { otp: totpCode(key, Date.now() + 30_000) })).toMatchObject({ ok: true });
    overrideEnvForTests({});
  });
});
