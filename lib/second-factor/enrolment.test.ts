import { and, eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { auditEvents, jobs, recoveryCodes, users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, collectingSchedule, uniqueIp } from "@/test-support/reset-helpers";
import { createUser } from "@/test-support/users";
import { enrol } from "@/test-support/two-factor";
import { confirmEnrolment, disableTwoFactor, offerEnrolment, removeTwoFactorByAdmin, twoFactorState } from "./enrolment";
import { hashRecoveryCode } from "./recovery-codes";
import { totpCode } from "./totp";

const outbox = installTestOutbox();

const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });

describeEachDatabase("two-factor enrolment", ({ handle }) => {
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

  it("turns off only with the password and a current code, and emails the user", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    const wrongPassword = await disableTwoFactor(
      db(),
      { userId: user.id, password: "Wrong-Password-1", otp: totpCode(key), ...context() },
      () => {},
    );
    expect(wrongPassword).toEqual({ ok: false, code: "WRONG_PASSWORD" });
    const wrongCode = await disableTwoFactor(db(), { userId: user.id, password: user.password, otp: "000000", ...context() }, () => {});
    expect(wrongCode).toEqual({ ok: false, code: "INVALID_CODE" });
    expect((await twoFactorState(db(), user.id)).enabled).toBe(true);

    const scheduled = collectingSchedule();
    expect(
      await disableTwoFactor(db(), { userId: user.id, password: user.password, otp: totpCode(key), ...context() }, scheduled.schedule),
    ).toEqual({ ok: true });
    expect(await twoFactorState(db(), user.id)).toEqual({ enabled: false, enabledAt: null, recoveryCodesLeft: 0 });
    expect(await db().select().from(recoveryCodes).where(eq(recoveryCodes.userId, user.id))).toEqual([]);
    await scheduled.runAll();
    expect(await outbox.to(user.email, "Two-factor authentication was turned off")).toHaveLength(1);
  });

  it("lets an admin remove the second factor, audited with the admin's id and emailed", async () => {
    const user = await createUser(db());
    await enrol(db(), user);
    const scheduled = collectingSchedule();
    expect(await removeTwoFactorByAdmin(db(), { userId: user.id, adminId: "admin-1", ...context() }, scheduled.schedule)).toEqual({
      ok: true,
    });
    expect((await twoFactorState(db(), user.id)).enabled).toBe(false);
    const events = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, user.id), eq(auditEvents.event, "admin.two_factor_removed")));
    expect(events[0]?.details).toMatchObject({ admin_id: "admin-1" });
    await scheduled.runAll();
    const [mail] = await outbox.to(user.email, "Two-factor authentication was turned off");
    expect(mail?.text).toContain("An administrator turned off two-factor authentication");
    expect(await removeTwoFactorByAdmin(db(), { userId: user.id, adminId: "admin-1", ...context() }, () => {})).toEqual({
      ok: false,
      code: "NOT_ENABLED",
    });
  });

  it("writes the notice as a durable job in the change's transaction", async () => {
    const user = await createUser(db());
    await enrol(db(), user);
    const rows = await db().select({ kind: jobs.kind, payload: jobs.payload }).from(jobs).where(eq(jobs.kind, "two_factor.notify"));
    expect(rows.some((r) => r.payload?.userId === user.id && r.payload?.change === "enabled")).toBe(true);
  });
});
