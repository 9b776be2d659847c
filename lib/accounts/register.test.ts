import { and, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import { auditEvents, sessions, users } from "@/db/schema";
import { registrationAttemptSubject } from "@/emails/registration-attempt";
import { verifyEmailSubject } from "@/emails/verify-email";
import { describeEachDatabase } from "@/test-support/databases";
import { VERIFY_LINK, installTestOutbox, tokenIn } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, collectingSchedule, RESET_LINK, uniqueIp } from "@/test-support/reset-helpers";
import { createUser, CURRENT_PASSWORD, uniqueEmail } from "@/test-support/users";
import { verifyCredentials } from "../auth/credentials";
import { insertSession } from "@/test-support/sessions";
import { inspectVerificationToken, verifyEmail } from "./verify-email";
import { requestPasswordReset } from "../recovery/request";
import { resetPassword } from "../recovery/reset";
import { env } from "../env";
import { REGISTER_EMAIL_LIMIT, REGISTER_IP_LIMIT, requestRegistration } from "./register";
import { emailFingerprint } from "../tokens";

const outbox = installTestOutbox();
const ATTEMPTED_PASSWORD = "Intruder-Pass-77";

async function usersWithEmail(db: Database, email: string) {
  return db.select().from(users).where(eq(users.email, email));
}

async function countUsers(db: Database): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(users);
  return Number(row?.n);
}

describeEachDatabase("registration", ({ handle }) => {
  const db = () => handle().db;

  it("answers the same for a new and an existing address and does none of the work before the response", async () => {
    const existing = await createUser(db());
    const fresh = uniqueEmail();
    const [existingBefore] = await usersWithEmail(db(), existing.email);
    const usersBefore = await countUsers(db());
    const { schedule, pending } = collectingSchedule();

    const forNew = await requestRegistration(
      db(),
      { email: fresh, password: ATTEMPTED_PASSWORD, ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS },
      schedule,
    );
    const forExisting = await requestRegistration(
      db(),
      { email: existing.email, password: ATTEMPTED_PASSWORD, ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS },
      schedule,
    );

    expect(forNew).toEqual({ ok: true });
    expect(forExisting).toStrictEqual(forNew);
    expect(pending).toHaveLength(2);
    expect(await usersWithEmail(db(), fresh)).toEqual([]);
    expect(await countUsers(db())).toBe(usersBefore);
    expect(await usersWithEmail(db(), existing.email)).toEqual([existingBefore]);
    expect(await outbox.all()).toEqual([]);
    expect(await db().select().from(auditEvents).where(eq(auditEvents.event, "registration.existing_email"))).toEqual([]);
  });

  it("creates an unverified account for a new address, normalised and hashed with argon2id, and emails one verification link", async () => {
    const email = uniqueEmail();
    const typed = `  ${email.toUpperCase()} `;
    const { schedule, runAll } = collectingSchedule();

    expect(
      await requestRegistration(
        db(),
        { email: typed, password: ATTEMPTED_PASSWORD, name: "Ada", ip: uniqueIp(), userAgent: null },
        schedule,
      ),
    ).toEqual({
      ok: true,
    });
    await runAll();

    const rows = await usersWithEmail(db(), email);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ email, name: "Ada", emailVerified: null });
    expect(rows[0]?.passwordHash).toMatch(/^\$argon2id\$/);
    // Not usable yet: its password signs in only once the address is confirmed.
    expect(await verifyCredentials(db(), email, ATTEMPTED_PASSWORD)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });

    const messages = await outbox.all();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ to: email, subject: verifyEmailSubject });
    // Its link, with the password chosen here, confirms the new account.
    expect(
      await verifyEmail(db(), { token: tokenIn(messages[0], VERIFY_LINK), password: ATTEMPTED_PASSWORD, ip: null, userAgent: null }),
    ).toEqual({ ok: true });
    expect((await usersWithEmail(db(), email))[0]?.emailVerified).toBeInstanceOf(Date);
    expect(await verifyCredentials(db(), email, ATTEMPTED_PASSWORD)).toMatchObject({ ok: true, user: { id: rows[0]?.id } });
  });

  it("gives registration followed by sign-in the same answer whether the address was free or taken", async () => {
    const taken = await createUser(db());
    const free = uniqueEmail();
    const { schedule, runAll } = collectingSchedule();

    for (const email of [free, taken.email]) {
      expect(await requestRegistration(db(), { email, password: ATTEMPTED_PASSWORD, ip: uniqueIp(), userAgent: null }, schedule)).toEqual({
        ok: true,
      });
    }
    await runAll();

    const onFree = await verifyCredentials(db(), free, ATTEMPTED_PASSWORD);
    const onTaken = await verifyCredentials(db(), taken.email, ATTEMPTED_PASSWORD);
    expect(onFree).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
    expect(onFree).toStrictEqual(onTaken);
  });

  it("replaces an earlier unconfirmed registration: its link and its password stop working, the new ones confirm", async () => {
    const email = uniqueEmail();
    const strangersPassword = "Stranger-Pass-31";
    const { schedule, runAll } = collectingSchedule();

    await requestRegistration(db(), { email, password: strangersPassword, name: "Mallory", ip: uniqueIp(), userAgent: null }, schedule);
    await runAll();
    const [first] = await usersWithEmail(db(), email);
    const firstLink = tokenIn((await outbox.to(email, verifyEmailSubject))[0], VERIFY_LINK);
    await insertSession(db(), { userId: first!.id, ip: null, userAgent: null });

    await requestRegistration(db(), { email, password: ATTEMPTED_PASSWORD, name: "Ada", ip: uniqueIp(), userAgent: null }, schedule);
    await runAll();

    const rows = await usersWithEmail(db(), email);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: first!.id, name: "Ada", emailVerified: null });
    expect(rows[0]?.passwordHash).not.toBe(first?.passwordHash);
    expect(await db().select().from(sessions).where(eq(sessions.userId, first!.id))).toEqual([]);
    const mails = await outbox.to(email, verifyEmailSubject);
    expect(mails).toHaveLength(2);
    // Newest first.
    const secondLink = tokenIn(mails[0], VERIFY_LINK);
    expect(secondLink).not.toBe(firstLink);

    // The earlier link is dead, even with the earlier password.
    expect(await inspectVerificationToken(db(), firstLink)).toEqual({ status: "invalid" });
    expect(await verifyEmail(db(), { token: firstLink, password: strangersPassword, ip: null, userAgent: null })).toEqual({
      ok: false,
      code: "TOKEN_PROBLEM",
      problem: "invalid",
    });
    // The earlier password does not confirm the new link either.
    expect(await verifyEmail(db(), { token: secondLink, password: strangersPassword, ip: uniqueIp(), userAgent: null })).toEqual({
      ok: false,
      code: "WRONG_PASSWORD",
    });
    expect(await verifyEmail(db(), { token: secondLink, password: ATTEMPTED_PASSWORD, ip: uniqueIp(), userAgent: null })).toEqual({
      ok: true,
    });
    expect(await verifyCredentials(db(), email, strangersPassword)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
    expect(await verifyCredentials(db(), email, ATTEMPTED_PASSWORD)).toMatchObject({ ok: true, user: { id: first!.id } });
    expect(
      await db()
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.userId, first!.id), eq(auditEvents.event, "user.registration_replaced"))),
    ).toHaveLength(1);
  });

  it("never replaces a confirmed account, even one confirmed by a password reset", async () => {
    const email = uniqueEmail();
    const { schedule, runAll } = collectingSchedule();
    await requestRegistration(db(), { email, password: "Stranger-Pass-31", ip: uniqueIp(), userAgent: null }, schedule);
    await runAll();
    const [row] = await usersWithEmail(db(), email);
    // The owner resets instead of confirming: the reset confirms the address.
    await requestPasswordReset(db(), { email, ip: uniqueIp(), userAgent: null }, schedule);
    await runAll();
    const resetToken = tokenIn(
      (await outbox.to(email)).find((m) => RESET_LINK.test(m.text)),
      RESET_LINK,
    );
    expect(await resetPassword(db(), { token: resetToken, password: "Owners-New-Pass-8", ip: null, userAgent: null }, schedule)).toEqual({
      ok: true,
    });

    await requestRegistration(db(), { email, password: ATTEMPTED_PASSWORD, ip: uniqueIp(), userAgent: null }, schedule);
    await runAll();

    expect(await usersWithEmail(db(), email)).toMatchObject([{ id: row!.id, emailVerified: expect.any(Date) }]);
    expect(await verifyCredentials(db(), email, ATTEMPTED_PASSWORD)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });
    expect(await verifyCredentials(db(), email, "Owners-New-Pass-8")).toMatchObject({ ok: true });
    expect(await outbox.to(email, registrationAttemptSubject)).toHaveLength(1);
  });

  it("leaves an existing account untouched and tells its owner someone tried to register with the address", async () => {
    const existing = await createUser(db());
    const [before] = await usersWithEmail(db(), existing.email);
    const ip = uniqueIp();
    const { schedule, runAll } = collectingSchedule();

    // A differently spelled copy of the same address.
    expect(
      await requestRegistration(
        db(),
        { email: ` ${existing.email.toUpperCase()}`, password: ATTEMPTED_PASSWORD, name: "Mallory", ip, userAgent: null },
        schedule,
      ),
    ).toEqual({ ok: true });
    await runAll();

    expect(await usersWithEmail(db(), existing.email)).toEqual([before]);
    expect((await verifyCredentials(db(), existing.email, CURRENT_PASSWORD)).ok).toBe(true);
    expect(await verifyCredentials(db(), existing.email, ATTEMPTED_PASSWORD)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });

    const messages = await outbox.all();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ to: existing.email, subject: registrationAttemptSubject });
    expect(messages[0]?.subject).toBe("Someone tried to create a Rekey account with your email");
    expect(messages[0]?.text).toContain(`${env().APP_URL}/login`);
    expect(messages[0]?.text).toContain(`${env().APP_URL}/forgot-password`);
    expect(messages[0]?.text).toContain(ip);
    expect(messages[0]?.text).not.toMatch(VERIFY_LINK);

    const audited = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "registration.existing_email"), eq(auditEvents.emailHmac, emailFingerprint(existing.email))));
    expect(audited).toHaveLength(1);
    expect(audited[0]?.ip).toBe(ip);
  });

  it("refuses the eleventh registration from one IP within the hour with a retry time, and schedules nothing for it", async () => {
    const ip = uniqueIp();
    const { schedule, pending } = collectingSchedule();

    for (let i = 0; i < REGISTER_IP_LIMIT.max; i++) {
      expect(
        await requestRegistration(db(), { email: uniqueEmail(), password: ATTEMPTED_PASSWORD, ip, userAgent: null }, schedule),
      ).toEqual({ ok: true });
    }
    const refused = await requestRegistration(db(), { email: uniqueEmail(), password: ATTEMPTED_PASSWORD, ip, userAgent: null }, schedule);

    expect(REGISTER_IP_LIMIT.max).toBe(10);
    expect(refused).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    expect(!refused.ok && refused.retryAfterSeconds).toBeGreaterThan(0);
    expect(pending).toHaveLength(REGISTER_IP_LIMIT.max);
    // Another IP is unaffected.
    expect(
      await requestRegistration(db(), { email: uniqueEmail(), password: ATTEMPTED_PASSWORD, ip: uniqueIp(), userAgent: null }, schedule),
    ).toEqual({
      ok: true,
    });
  });

  it("sends at most three emails an hour to one address however many registrations name it, without saying so", async () => {
    const email = uniqueEmail();
    const answers: unknown[] = [];

    for (let i = 0; i < REGISTER_EMAIL_LIMIT.max + 1; i++) {
      const { schedule, pending, runAll } = collectingSchedule();
      answers.push(await requestRegistration(db(), { email, password: ATTEMPTED_PASSWORD, ip: uniqueIp(), userAgent: null }, schedule));
      expect(pending).toHaveLength(1);
      await runAll();
      expect(await outbox.to(email)).toHaveLength(Math.min(i + 1, REGISTER_EMAIL_LIMIT.max));
    }

    expect(answers).toEqual(Array.from({ length: REGISTER_EMAIL_LIMIT.max + 1 }, () => ({ ok: true })));
    expect(await usersWithEmail(db(), email)).toHaveLength(1);
    // Each registration of the still-unconfirmed address replaced the one before, with a new link;
    // only the last one (listed first: newest first) works.
    const sent = await outbox.to(email);
    expect(sent.filter((m) => m.subject === verifyEmailSubject)).toHaveLength(REGISTER_EMAIL_LIMIT.max);
    const states = await Promise.all(sent.map((m) => inspectVerificationToken(db(), tokenIn(m, VERIFY_LINK))));
    expect(states.map((s) => s.status)).toEqual(["valid", "invalid", "invalid"]);
  });
});
