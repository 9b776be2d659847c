import { and, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { auditEvents, jobs, recoveryCodes, sessions, users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, collectingSchedule, uniqueIp } from "@/test-support/reset-helpers";
import { insertSession } from "@/test-support/sessions";
import { createUser } from "@/test-support/users";
import { enrol } from "@/test-support/two-factor";
import {
  confirmEnrolment,
  disableTwoFactor,
  offerEnrolment,
  removeTwoFactorByAdmin,
  replaceRecoveryCodes,
  twoFactorState,
} from "./enrolment";
import { hashRecoveryCode } from "./recovery-codes";
import { totpCode } from "./totp";

const outbox = installTestOutbox();

const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });

describeEachDatabase("two-factor enrolment", ({ handle }) => {
  const db = () => handle().db;

  /** A session of `user` that signed in just now (so "Confirm it's you" holds), as `{ ...user, sessionId }`. */
  async function signedIn(user: { id: string; email: string }, secondFactor = false) {
    const session = await insertSession(db(), { userId: user.id, userAgent: CHROME_ON_WINDOWS, ip: null, secondFactor });
    return { ...user, sessionId: session.id };
  }

  /** Moves the session's password entry (and second factor) `minutes` into the past. */
  async function ageSession(sessionId: string, minutes: number) {
    await db()
      .update(sessions)
      .set({
        passwordCheckedAt: sql`now() - make_interval(mins => ${minutes})`,
        secondFactorAt: sql`case when ${sessions.secondFactorAt} is null then null else now() - make_interval(mins => ${minutes}) end`,
      })
      .where(eq(sessions.id, sessionId));
  }

  it("enrols with the offered key: the same key on reload, stored sealed, ten hashed recovery codes, an email job", async () => {
    const user = await signedIn(await createUser(db()));
    const first = await offerEnrolment(db(), user);
    const again = await offerEnrolment(db(), user);
    if (!first.ok || !again.ok) throw new Error("no offer");
    expect(again.setupKey).toBe(first.setupKey);
    expect(first.uri).toMatch(/^otpauth:\/\/totp\/Rekey:.+\?.*secret=/);
    expect(first.qrSvg).toMatch(/^<svg/);
    const key = first.setupKey.replace(/\s+/g, "");

    const wrong = await confirmEnrolment(db(), { userId: user.id, sessionId: user.sessionId, code: "000000", ...context() }, () => {});
    expect(wrong).toEqual({ ok: false, code: "INVALID_CODE" });
    const scheduled = collectingSchedule();
    const confirmed = await confirmEnrolment(
      db(),
      { userId: user.id, sessionId: user.sessionId, code: totpCode(key), ...context() },
      scheduled.schedule,
    );
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

  it("shows no setup key and turns nothing on for a session whose confirmation is older than REAUTH_MINUTES", async () => {
    const user = await signedIn(await createUser(db()));
    const first = await offerEnrolment(db(), user);
    if (!first.ok) throw new Error(first.code);
    await ageSession(user.sessionId, 11);
    expect(await offerEnrolment(db(), user)).toEqual({ ok: false, code: "CONFIRMATION_NEEDED" });
    const code = totpCode(first.setupKey.replace(/\s+/g, ""));
    const refused = await confirmEnrolment(db(), { userId: user.id, sessionId: user.sessionId, code, ...context() }, () => {});
    expect(refused).toEqual({ ok: false, code: "CONFIRMATION_NEEDED" });
    expect((await twoFactorState(db(), user.id)).enabled).toBe(false);
  });

  it("ends the other sessions that never passed a second factor when turned on, and says how many", async () => {
    const user = await createUser(db());
    const passwordOnly = [await signedIn(user), await signedIn(user)];
    const verified = await signedIn(user, true);
    const other = await signedIn(await createUser(db()));
    const me = await signedIn(user);
    await enrol(db(), user, { sessionId: me.sessionId });
    const left = await db()
      .select({ id: sessions.id, secondFactorAt: sessions.secondFactorAt })
      .from(sessions)
      .where(eq(sessions.userId, user.id));
    expect(left.map((r) => r.id).sort()).toEqual([verified.sessionId, me.sessionId].sort());
    expect(left.every((r) => r.secondFactorAt !== null)).toBe(true);
    for (const ended of passwordOnly) expect(await db().select().from(sessions).where(eq(sessions.id, ended.sessionId))).toEqual([]);
    expect(await db().select({ id: sessions.id }).from(sessions).where(eq(sessions.id, other.sessionId))).toHaveLength(1);
    const [revoked] = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, user.id), eq(auditEvents.event, "sessions.revoked")));
    expect(revoked?.details).toEqual({ count: 2, reason: "two_factor_enabled" });
  });

  it("reports how many other sessions ended in its answer", async () => {
    const user = await createUser(db());
    await signedIn(user);
    await signedIn(user);
    const me = await signedIn(user);
    const offer = await offerEnrolment(db(), me);
    if (!offer.ok) throw new Error(offer.code);
    const code = totpCode(offer.setupKey.replace(/\s+/g, ""));
    const result = await confirmEnrolment(db(), { userId: user.id, sessionId: me.sessionId, code, ...context() }, () => {});
    expect(result).toMatchObject({ ok: true, otherSessionsEnded: 2 });
  });

  it("replaces recovery codes only for a confirmed session, audited and emailed to the owner in the same transaction", async () => {
    const user = await createUser(db());
    const me = await signedIn(user);
    const { codes } = await enrol(db(), user, { sessionId: me.sessionId });
    await ageSession(me.sessionId, 11);
    expect(await replaceRecoveryCodes(db(), { userId: user.id, sessionId: me.sessionId, ...context() }, () => {})).toEqual({
      ok: false,
      code: "CONFIRMATION_NEEDED",
    });
    expect(await db().select().from(recoveryCodes).where(eq(recoveryCodes.userId, user.id))).toHaveLength(codes.length);

    const fresh = await signedIn(user, true);
    const scheduled = collectingSchedule();
    const replaced = await replaceRecoveryCodes(db(), { userId: user.id, sessionId: fresh.sessionId, ...context() }, scheduled.schedule);
    if (!replaced.ok) throw new Error(replaced.code);
    const rows = await db().select({ payload: jobs.payload }).from(jobs).where(eq(jobs.kind, "two_factor.notify"));
    expect(rows.some((r) => r.payload?.userId === user.id && r.payload?.change === "recovery_codes_replaced")).toBe(true);
    const events = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, user.id), eq(auditEvents.event, "two_factor.recovery_codes_replaced")));
    expect(events).toHaveLength(1);
    await scheduled.runAll();
    const [mail] = await outbox.to(user.email, "New recovery codes were made");
    expect(mail?.text).toContain("Your old recovery codes no longer work");
    expect(mail?.text).toContain("If this wasn't you");
  });

  it("turns off only for a session confirmed with the password and a code, and emails the user", async () => {
    const user = await createUser(db());
    const me = await signedIn(user);
    await enrol(db(), user, { sessionId: me.sessionId });
    // A password-only session (signed in before two-factor, or confirmed without a code) is not enough.
    await db().update(sessions).set({ secondFactorAt: null }).where(eq(sessions.id, me.sessionId));
    expect(await disableTwoFactor(db(), { userId: user.id, sessionId: me.sessionId, ...context() }, () => {})).toEqual({
      ok: false,
      code: "CONFIRMATION_NEEDED",
    });
    expect((await twoFactorState(db(), user.id)).enabled).toBe(true);

    const confirmed = await signedIn(user, true);
    const scheduled = collectingSchedule();
    expect(await disableTwoFactor(db(), { userId: user.id, sessionId: confirmed.sessionId, ...context() }, scheduled.schedule)).toEqual({
      ok: true,
    });
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
