import { eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { auditEvents, sessions } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { insertSession } from "@/test-support/sessions";
import { enrol } from "@/test-support/two-factor";
import { createUser } from "@/test-support/users";
import { overrideEnvForTests } from "../env";
import { totpCode } from "../second-factor/totp";
import { ADMIN_PASSWORD_CHECK_LIMIT, hasRecentPasswordCheck, isAdminEmail, recordPasswordCheck } from "./password-check";

const CONTEXT = { ip: "192.0.2.80", userAgent: null };

it("counts an address as an admin's only when ADMIN_EMAILS names it, in any case and spacing", () => {
  overrideEnvForTests({ ADMIN_EMAILS: "ops@example.com, Second@Example.com" });
  expect(isAdminEmail(" OPS@example.com ")).toBe(true);
  expect(isAdminEmail("second@example.com")).toBe(true);
  expect(isAdminEmail("ops@example.co")).toBe(false);
  overrideEnvForTests({ ADMIN_EMAILS: undefined });
  expect(isAdminEmail("ops@example.com")).toBe(false);
});

describeEachDatabase("admin password check", ({ handle }) => {
  const db = () => handle().db;

  async function adminWithSession(minutesAgo: number) {
    const user = await createUser(db());
    return { user, admin: await sessionOf(user, minutesAgo) };
  }

  /** An admin context for a session of `user` that signed in `minutesAgo` (with a code when `secondFactor`). */
  async function sessionOf(user: { id: string; email: string }, minutesAgo: number, secondFactor = false) {
    const session = await insertSession(db(), { userId: user.id, userAgent: null, ip: null, secondFactor });
    await db()
      .update(sessions)
      .set({
        createdAt: sql`now() - make_interval(mins => ${minutesAgo})`,
        passwordCheckedAt: sql`now() - make_interval(mins => ${minutesAgo})`,
        secondFactorAt: secondFactor ? sql`now() - make_interval(mins => ${minutesAgo})` : null,
      })
      .where(eq(sessions.id, session.id));
    return { userId: user.id, email: user.email, sessionId: session.id };
  }

  it("treats a sign-in or password check within 10 minutes as recent, and an older one as stale", async () => {
    expect(await hasRecentPasswordCheck(db(), (await adminWithSession(9)).admin.sessionId)).toBe(true);
    expect(await hasRecentPasswordCheck(db(), (await adminWithSession(11)).admin.sessionId)).toBe(false);
  });

  it("records a re-entered password on the session row; a wrong one changes nothing", async () => {
    const { user, admin } = await adminWithSession(30);
    expect(await recordPasswordCheck(db(), admin, "Not-The-Password-1", CONTEXT)).toEqual({ ok: false, code: "WRONG_PASSWORD" });
    expect(await hasRecentPasswordCheck(db(), admin.sessionId)).toBe(false);
    expect(await recordPasswordCheck(db(), admin, user.password, CONTEXT)).toEqual({ ok: true, method: "password" });
    expect(await hasRecentPasswordCheck(db(), admin.sessionId)).toBe(true);
    const events = await db().select().from(auditEvents).where(eq(auditEvents.userId, user.id));
    expect(events.map((e) => [e.event, e.details]).sort()).toEqual([
      ["admin.password_check_failed", { admin_id: user.id, reason: "wrong_password" }],
      ["admin.password_checked", { admin_id: user.id, method: "password" }],
    ]);
  });

  it("asks an admin with two-factor on for the code too: the password alone confirms nothing", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    const admin = await sessionOf(user, 30, true);
    expect(await recordPasswordCheck(db(), admin, user.password, CONTEXT)).toEqual({ ok: false, code: "SECOND_FACTOR_REQUIRED" });
    expect(await hasRecentPasswordCheck(db(), admin.sessionId)).toBe(false);
    expect(await recordPasswordCheck(db(), admin, { password: user.password, otp: totpCode(key) }, CONTEXT)).toEqual({
      ok: true,
      method: "totp",
    });
    expect(await hasRecentPasswordCheck(db(), admin.sessionId)).toBe(true);
  });

  it("refuses further tries once the limit is spent, even with the right password", async () => {
    const { user, admin } = await adminWithSession(30);
    for (let i = 0; i < ADMIN_PASSWORD_CHECK_LIMIT.max; i++) await recordPasswordCheck(db(), admin, `Wrong-Guess-${i}x`, CONTEXT);
    const refused = await recordPasswordCheck(db(), admin, user.password, CONTEXT);
    expect(refused).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    expect(await hasRecentPasswordCheck(db(), admin.sessionId)).toBe(false);
  });
});
