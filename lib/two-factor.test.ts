import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, jobs, recoveryCodes, users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, collectingSchedule, uniqueIp } from "@/test-support/reset-helpers";
import { enrol } from "@/test-support/two-factor";
import { createUser } from "@/test-support/users";
import { overrideEnvForTests } from "./env";
import { seal } from "./jobs/seal";
import {
  checkSecondFactor,
  confirmEnrolment,
  disableTwoFactor,
  formatSetupKey,
  generateRecoveryCodes,
  hashRecoveryCode,
  matchingTotpStep,
  normalizeRecoveryCode,
  offerEnrolment,
  passSignInChallenge,
  removeTwoFactorByAdmin,
  replaceRecoveryCodes,
  SECOND_FACTOR_LIMIT,
  startSignInChallenge,
  totpCode,
  twoFactorState,
} from "./two-factor";

const outbox = installTestOutbox();

// RFC 6238 appendix B, SHA-1 rows: the 20-byte ASCII key "12345678901234567890". The RFC
// prints 8 digits; a 6-digit code is the same value mod 10^6 (its last six digits).
const RFC_KEY = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const RFC_VECTORS: [seconds: number, eightDigits: string][] = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
];

describe("TOTP", () => {
  it.each(RFC_VECTORS)("matches the RFC 6238 test vector at T=%i", (seconds, eightDigits) => {
    expect(totpCode(RFC_KEY, seconds * 1000)).toBe(eightDigits.slice(-6));
  });

  it("accepts one step of clock drift either side and no more", () => {
    const now = 1_800_000_000_000;
    const step = Math.floor(now / 30_000);
    for (const drift of [-1, 0, 1]) expect(matchingTotpStep(RFC_KEY, totpCode(RFC_KEY, now + drift * 30_000), now)).toBe(step + drift);
    for (const drift of [-2, 2]) expect(matchingTotpStep(RFC_KEY, totpCode(RFC_KEY, now + drift * 30_000), now)).toBeNull();
    expect(matchingTotpStep(RFC_KEY, "12345", now)).toBeNull();
  });

  it("groups the setup key in fours for typing", () => {
    expect(formatSetupKey("ABCDEFGHIJKLMNOP")).toBe("ABCD EFGH IJKL MNOP");
  });
});

describe("recovery codes", () => {
  it("are ten distinct 80-bit codes in four groups of four", () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){3}$/);
  });

  it("are hashed from their canonical form: case, spaces and dashes do not matter", () => {
    const [code] = generateRecoveryCodes();
    const sloppy = ` ${code!.toLowerCase().replace(/-/g, " ")} `;
    expect(normalizeRecoveryCode(sloppy)).toBe(code!.replace(/-/g, ""));
    expect(hashRecoveryCode(sloppy)).toBe(hashRecoveryCode(code!));
    expect(hashRecoveryCode(code!)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRecoveryCode(code!)).not.toContain(code!.replace(/-/g, ""));
    expect(normalizeRecoveryCode("ABCD-EFGH-IJKL-MNO0")).toBeNull();
    expect(normalizeRecoveryCode("short")).toBeNull();
  });
});

const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });

describeEachDatabase("two-factor authentication", ({ handle, driver }) => {
  const db = () => handle().db;

  it("enrols with the offered key: the same key on reload, stored sealed, ten hashed recovery codes, an email job", async () => {
    const user = await createUser(db());
    const first = await offerEnrolment(db(), user);
    const again = await offerEnrolment(db(), user);
    if (!first.ok || !again.ok) throw new Error("no offer");
    expect(again.setupKey).toBe(first.setupKey);
    expect(first.uri).toMatch(/^otpauth:\/\/totp\/Rekey:.+\?.*secret=/);
    expect(first.qrSvg).toMatch(/^<svg/);
    const key = first.setupKey.replace(/\s+/g, "");

    const wrong = await confirmEnrolment(db(), { userId: user.id, code: "000000", ...context() }, () => {});
    expect(wrong).toEqual({ ok: false, code: "INVALID_CODE" });
    const scheduled = collectingSchedule();
    const confirmed = await confirmEnrolment(db(), { userId: user.id, code: totpCode(key), ...context() }, scheduled.schedule);
    if (!confirmed.ok) throw new Error(confirmed.code);
    expect(confirmed.recoveryCodes).toHaveLength(10);

    const [row] = await db().select().from(users).where(eq(users.id, user.id));
    expect(row!.twoFactorEnabledAt).not.toBeNull();
    expect(row!.twoFactorSecret).not.toContain(key);
    expect(row!.twoFactorPendingSecret).toBeNull();
    const stored = await db().select().from(recoveryCodes).where(eq(recoveryCodes.userId, user.id));
    expect(stored.map((r) => r.codeHash).sort()).toEqual(confirmed.recoveryCodes.map(hashRecoveryCode).sort());
    expect(await twoFactorState(db(), user.id)).toMatchObject({ enabled: true, recoveryCodesLeft: 10 });

    await scheduled.runAll();
    const [mail] = await outbox.to(user.email, "Two-factor authentication was turned on");
    expect(mail).toBeDefined();
    expect(await offerEnrolment(db(), user)).toEqual({ ok: false, code: "ALREADY_ENABLED" });
  });

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
    expect(await checkSecondFactor(db(), user.id, { recoveryCode: codes[0]!.toLowerCase() })).toEqual({ ok: true, method: "recovery_code", recoveryCodesLeft: 9 });
    expect(await checkSecondFactor(db(), user.id, { recoveryCode: codes[0]! })).toEqual({ ok: false, code: "INVALID_CODE" });
    expect(await checkSecondFactor(db(), user.id, { recoveryCode: "not-a-code" })).toEqual({ ok: false, code: "INVALID_CODE" });

    const replaced = await replaceRecoveryCodes(db(), { userId: user.id, ...context() });
    if (!replaced.ok) throw new Error(replaced.code);
    expect(await checkSecondFactor(db(), user.id, { recoveryCode: codes[1]! })).toEqual({ ok: false, code: "INVALID_CODE" });
    expect(await checkSecondFactor(db(), user.id, { recoveryCode: replaced.recoveryCodes[0]! })).toMatchObject({ ok: true, recoveryCodesLeft: 9 });
  });

  it("turns off only with the password and a current code, and emails the user", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    const wrongPassword = await disableTwoFactor(db(), { userId: user.id, password: "Wrong-Password-1", otp: totpCode(key), ...context() }, () => {});
    expect(wrongPassword).toEqual({ ok: false, code: "WRONG_PASSWORD" });
    const wrongCode = await disableTwoFactor(db(), { userId: user.id, password: user.password, otp: "000000", ...context() }, () => {});
    expect(wrongCode).toEqual({ ok: false, code: "INVALID_CODE" });
    expect((await twoFactorState(db(), user.id)).enabled).toBe(true);

    const scheduled = collectingSchedule();
    expect(await disableTwoFactor(db(), { userId: user.id, password: user.password, otp: totpCode(key), ...context() }, scheduled.schedule)).toEqual({ ok: true });
    expect(await twoFactorState(db(), user.id)).toEqual({ enabled: false, enabledAt: null, recoveryCodesLeft: 0 });
    expect(await db().select().from(recoveryCodes).where(eq(recoveryCodes.userId, user.id))).toEqual([]);
    await scheduled.runAll();
    expect(await outbox.to(user.email, "Two-factor authentication was turned off")).toHaveLength(1);
  });

  it("lets an admin remove the second factor, audited with the admin's id and emailed", async () => {
    const user = await createUser(db());
    await enrol(db(), user);
    const scheduled = collectingSchedule();
    expect(await removeTwoFactorByAdmin(db(), { userId: user.id, adminId: "admin-1", ...context() }, scheduled.schedule)).toEqual({ ok: true });
    expect((await twoFactorState(db(), user.id)).enabled).toBe(false);
    const events = await db().select().from(auditEvents).where(and(eq(auditEvents.userId, user.id), eq(auditEvents.event, "admin.two_factor_removed")));
    expect(events[0]?.details).toMatchObject({ admin_id: "admin-1" });
    await scheduled.runAll();
    const [mail] = await outbox.to(user.email, "Two-factor authentication was turned off");
    expect(mail?.text).toContain("An administrator turned off two-factor authentication");
    expect(await removeTwoFactorByAdmin(db(), { userId: user.id, adminId: "admin-1", ...context() }, () => {})).toEqual({ ok: false, code: "NOT_ENABLED" });
  });

  it("passes a sign-in challenge once with a right code; a recovery code is reported by email with the count left", async () => {
    const user = await createUser(db());
    const { key, codes } = await enrol(db(), user);
    const [row] = await db().select({ v: users.credentialsVersion }).from(users).where(eq(users.id, user.id));
    const challenge = await startSignInChallenge(db(), { userId: user.id, credentialsVersion: row!.v, ...context() });

    expect(await passSignInChallenge(db(), { token: challenge.token, otp: "000000", ...context() }, () => {})).toEqual({ ok: false, code: "INVALID_CODE" });
    const scheduled = collectingSchedule();
    const passed = await passSignInChallenge(db(), { token: challenge.token, recoveryCode: codes[3]!, ...context() }, scheduled.schedule);
    expect(passed).toMatchObject({ ok: true, method: "recovery_code", grant: { userId: user.id, credentialsVersion: row!.v, secondFactor: true } });
    expect(await passSignInChallenge(db(), { token: challenge.token, otp: totpCode(key), ...context() }, () => {})).toEqual({ ok: false, code: "CHALLENGE_EXPIRED" });
    await scheduled.runAll();
    expect(await outbox.to(user.email, "A recovery code was used (9 left)")).toHaveLength(1);
  });

  it("counts attempts before checking and gives a right code's attempt back", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    for (let i = 0; i < SECOND_FACTOR_LIMIT.max - 1; i++) {
      const challenge = await startSignInChallenge(db(), { userId: user.id, credentialsVersion: 1, ...context() });
      expect(await passSignInChallenge(db(), { token: challenge.token, otp: "000000", ...context() }, () => {})).toMatchObject({ code: "INVALID_CODE" });
    }
    const challenge = await startSignInChallenge(db(), { userId: user.id, credentialsVersion: 1, ...context() });
    expect(await passSignInChallenge(db(), { token: challenge.token, otp: totpCode(key), ...context() }, () => {})).toMatchObject({ ok: true });
    const last = await startSignInChallenge(db(), { userId: user.id, credentialsVersion: 1, ...context() });
    expect(await passSignInChallenge(db(), { token: last.token, otp: "000000", ...context() }, () => {})).toMatchObject({ code: "INVALID_CODE" });
    expect(await passSignInChallenge(db(), { token: last.token, otp: totpCode(key, Date.now() + 30_000), ...context() }, () => {})).toMatchObject({ code: "RATE_LIMITED" });
    expect(await passSignInChallenge(db(), { token: last.token, otp: totpCode(key, Date.now() + 30_000), ...context() }, () => {})).toMatchObject({ code: "RATE_LIMITED" });
    // The first refusal of the window is audited once, not every one after it.
    const throttled = await db().select().from(auditEvents).where(and(eq(auditEvents.userId, user.id), eq(auditEvents.event, "two_factor.throttled")));
    expect(throttled).toHaveLength(1);
  });

  // PGlite runs one query at a time: a race can only show on PostgreSQL.
  if (driver === "postgres") it("checks at most 5 of 30 parallel wrong codes, and accepts one code once among 10 parallel uses", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    const challenges = await Promise.all(Array.from({ length: 30 }, () => startSignInChallenge(db(), { userId: user.id, credentialsVersion: 1, ...context() })));
    const wrong = await Promise.all(challenges.map((c, i) => passSignInChallenge(db(), { token: c.token, otp: String(100000 + i), ...context() }, () => {})));
    expect(wrong.filter((r) => !r.ok && r.code === "INVALID_CODE")).toHaveLength(SECOND_FACTOR_LIMIT.max);
    expect(wrong.filter((r) => !r.ok && r.code === "RATE_LIMITED")).toHaveLength(30 - SECOND_FACTOR_LIMIT.max);
    const failed = await db().select().from(auditEvents).where(and(eq(auditEvents.userId, user.id), eq(auditEvents.event, "two_factor.code_failed")));
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
    await db().update(users).set({ twoFactorSecret: seal(key, "two-factor") }).where(eq(users.id, user.id));
    outbox.configure({ AUTH_SECRET: "the-new-secret-that-is-at-least-32-chars-long", AUTH_SECRET_PREVIOUS: oldSecret });
    const [before] = await db().select({ s: users.twoFactorSecret }).from(users).where(eq(users.id, user.id));
    expect(await checkSecondFactor(db(), user.id, { otp: totpCode(key) })).toMatchObject({ ok: true });
    const [after] = await db().select({ s: users.twoFactorSecret }).from(users).where(eq(users.id, user.id));
    expect(after!.s).not.toBe(before!.s);
    outbox.configure({ AUTH_SECRET: "the-new-secret-that-is-at-least-32-chars-long" });
    expect(await checkSecondFactor(db(), user.id, { otp: totpCode(key, Date.now() + 30_000) })).toMatchObject({ ok: true });
    overrideEnvForTests({});
  });

  it("writes the notice as a durable job in the change's transaction", async () => {
    const user = await createUser(db());
    await enrol(db(), user);
    const rows = await db().select({ kind: jobs.kind, payload: jobs.payload }).from(jobs).where(eq(jobs.kind, "two_factor.notify"));
    expect(rows.some((r) => r.payload?.userId === user.id && r.payload?.change === "enabled")).toBe(true);
  });
});
