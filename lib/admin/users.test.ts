import { and, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { auditEvents, users } from "@/db/schema";
import { resetPasswordSubject } from "@/emails/reset-password";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox, tokenIn } from "@/test-support/mail-helpers";
import { collectingSchedule, RESET_LINK } from "@/test-support/reset-helpers";
import { createUser } from "@/test-support/users";
import { insertSession } from "@/test-support/sessions";
import { verifyCredentials } from "../auth/credentials";
import { createSession, findSession } from "../auth/sessions";
import { parseEnv } from "../env";
import { resetPassword } from "../recovery/reset";
import { enrol } from "@/test-support/two-factor";
import { checkSecondFactor } from "../second-factor/check";
import { removeTwoFactorByAdmin } from "../second-factor/enrolment";
import { describeAccount, findAccountByEmail, forcePasswordReset, openAccountById, signOutEverywhere } from "./users";

const outbox = installTestOutbox();
const NEW_PASSWORD = "Brand-New-Horse-31";
const CONTEXT = { ip: "192.0.2.44", userAgent: null };

it("reads ADMIN_EMAILS as a normalised list, empty when unset", () => {
  expect(parseEnv({ ADMIN_EMAILS: " Ops@Example.com, ,second@example.com,ops@example.com " }).ADMIN_EMAILS).toEqual([
    "ops@example.com",
    "second@example.com",
  ]);
  expect(parseEnv({}).ADMIN_EMAILS).toEqual([]);
});

describeEachDatabase("admin actions on an account", ({ handle }) => {
  const db = () => handle().db;

  it("finds an account only by its exact address and audits each look-up with the admin's id", async () => {
    const admin = await createUser(db());
    const user = await createUser(db());
    const request = { adminId: admin.id, ...CONTEXT };
    expect((await findAccountByEmail(db(), ` ${user.email.toUpperCase()} `, request))?.id).toBe(user.id);
    expect(await findAccountByEmail(db(), user.email.slice(0, -1), request)).toBeNull();
    const lookUps = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "admin.user_looked_up"), eq(auditEvents.ip, CONTEXT.ip)));
    expect(lookUps.filter((e) => e.details.admin_id === admin.id).map((e) => e.details.found)).toEqual(
      expect.arrayContaining([true, false]),
    );
  });

  it("audits every opening of an account page by id with the admin's id, found or not", async () => {
    const admin = await createUser(db());
    const user = await createUser(db());
    const request = { adminId: admin.id, ip: "192.0.2.45", userAgent: "admin browser" };
    expect((await openAccountById(db(), user.id, request))?.email).toBe(user.email);
    expect(await openAccountById(db(), user.id, request)).not.toBeNull();
    expect(await openAccountById(db(), "no-such-account", request)).toBeNull();
    const opened = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "admin.user_opened"), eq(auditEvents.ip, request.ip)));
    expect(
      opened
        .map((e) => ({ userId: e.userId, userAgent: e.userAgent, details: e.details }))
        .sort((a, b) => Number(a.details.found) - Number(b.details.found)),
    ).toEqual([
      { userId: null, userAgent: "admin browser", details: { admin_id: admin.id, found: false, requested_id: "no-such-account" } },
      { userId: user.id, userAgent: "admin browser", details: { admin_id: admin.id, found: true } },
      { userId: user.id, userAgent: "admin browser", details: { admin_id: admin.id, found: true } },
    ]);
  });

  it("force password reset writes its email in its own transaction: when the email's job cannot be stored, nothing changes", async () => {
    const admin = await createUser(db());
    const user = await createUser(db());
    const session = await insertSession(db(), { userId: user.id, userAgent: null, ip: null });
    // The job store refuses this user's forced-reset email, as a crash between the change and
    // its email would lose it: the change must not commit without it.
    await db().execute(
      sql.raw(`create function refuse_forced_reset_email() returns trigger language plpgsql as $$
        begin
          if new.kind = 'admin.forced_reset' and new.payload->>'userId' = '${user.id}' then raise exception 'job store refused'; end if;
          return new;
        end $$`),
    );
    await db().execute(
      sql`create trigger refuse_forced_reset_email before insert on jobs for each row execute function refuse_forced_reset_email()`,
    );
    try {
      await expect(forcePasswordReset(db(), user.id, { adminId: admin.id, ...CONTEXT }, collectingSchedule().schedule)).rejects.toThrow();
    } finally {
      await db().execute(sql`drop trigger refuse_forced_reset_email on jobs`);
      await db().execute(sql`drop function refuse_forced_reset_email()`);
    }
    expect((await verifyCredentials(db(), user.email, user.password)).ok).toBe(true);
    expect(await findSession(db(), session.sessionToken)).not.toBeNull();
    const forced = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "admin.password_reset_forced"), eq(auditEvents.userId, user.id)));
    expect(forced).toEqual([]);
  });

  it("force password reset: the password stops working at once, every session ends, the emailed link sets a new one", async () => {
    const admin = await createUser(db());
    const user = await createUser(db());
    const session = await insertSession(db(), { userId: user.id, userAgent: null, ip: null });
    const { schedule, runAll } = collectingSchedule();

    const result = await forcePasswordReset(db(), user.id, { adminId: admin.id, ...CONTEXT }, schedule);
    expect(result).toEqual({ ok: true, sessionsEnded: 1 });
    expect(await findSession(db(), session.sessionToken)).toBeNull();
    // The old password now only explains itself; a wrong one gets the usual answer.
    expect(await verifyCredentials(db(), user.email, user.password)).toEqual({ ok: false, code: "PASSWORD_RESET_FORCED" });
    expect(await verifyCredentials(db(), user.email, "Some-Other-Guess-5")).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
    const [forced] = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "admin.password_reset_forced"), eq(auditEvents.userId, user.id)));
    expect(forced?.details).toEqual({ admin_id: admin.id });

    await runAll();
    const [mail] = await outbox.to(user.email, resetPasswordSubject);
    const reset = await resetPassword(db(), { token: tokenIn(mail, RESET_LINK), password: NEW_PASSWORD, ...CONTEXT }, schedule);
    expect(reset.ok).toBe(true);
    expect((await verifyCredentials(db(), user.email, NEW_PASSWORD)).ok).toBe(true);
    // Once reset, the old password is just a wrong password again.
    expect(await verifyCredentials(db(), user.email, user.password)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
    const [row] = await db()
      .select({ forced: users.passwordResetForcedAt, retired: users.retiredPasswordHash })
      .from(users)
      .where(eq(users.id, user.id));
    expect(row).toEqual({ forced: null, retired: null });
  });

  it("shows whether two-factor authentication is on and how many recovery codes are left, and off once an admin removed it", async () => {
    const admin = await createUser(db());
    const user = await createUser(db());
    expect((await describeAccount(db(), user.id))?.twoFactor).toEqual({ enabled: false, enabledAt: null, recoveryCodesLeft: 0 });
    const { codes } = await enrol(db(), user);
    await checkSecondFactor(db(), user.id, { recoveryCode: codes[0]! });
    expect((await describeAccount(db(), user.id))?.twoFactor).toMatchObject({
      enabled: true,
      enabledAt: expect.any(Date),
      recoveryCodesLeft: 9,
    });

    expect(await removeTwoFactorByAdmin(db(), { userId: user.id, adminId: admin.id, ...CONTEXT }, () => {})).toEqual({ ok: true });
    expect((await describeAccount(db(), user.id))?.twoFactor).toEqual({ enabled: false, enabledAt: null, recoveryCodesLeft: 0 });
  });

  it("sign out everywhere ends every session but leaves the password working", async () => {
    const admin = await createUser(db());
    const user = await createUser(db());
    const sessions = [
      await insertSession(db(), { userId: user.id, userAgent: null, ip: null }),
      await insertSession(db(), { userId: user.id, userAgent: null, ip: null }),
    ];
    expect(await signOutEverywhere(db(), user.id, { adminId: admin.id, ...CONTEXT })).toBe(2);
    for (const s of sessions) expect(await findSession(db(), s.sessionToken)).toBeNull();
    expect((await verifyCredentials(db(), user.email, user.password)).ok).toBe(true);
    expect(await signOutEverywhere(db(), "no-such-user", { adminId: admin.id, ...CONTEXT })).toBeNull();
  });

  it("a sign-in whose password check happened before a forced reset or sign-out-everywhere gets no session", async () => {
    const admin = await createUser(db());
    for (const act of [
      (userId: string) => signOutEverywhere(db(), userId, { adminId: admin.id, ...CONTEXT }),
      (userId: string) => forcePasswordReset(db(), userId, { adminId: admin.id, ...CONTEXT }, collectingSchedule().schedule),
    ]) {
      const user = await createUser(db());
      // The check read the hash and the credentials version, then the admin acted before the session was stored.
      const checked = await verifyCredentials(db(), user.email, user.password);
      if (!checked.ok) throw new Error("sign-in check failed");
      await act(user.id);
      expect(
        await createSession(db(), { userId: user.id, credentialsVersion: checked.user.credentialsVersion, ip: null, userAgent: null }),
      ).toBeNull();
    }
  });

  it("an unknown account cannot be forced to reset", async () => {
    const admin = await createUser(db());
    const { schedule } = collectingSchedule();
    expect(await forcePasswordReset(db(), "no-such-user", { adminId: admin.id, ...CONTEXT }, schedule)).toEqual({
      ok: false,
      code: "NOT_FOUND",
    });
  });
});
