import { and, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { auditEvents, emailVerificationTokens, users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { uniqueIp } from "@/test-support/reset-helpers";
import { uniqueEmail } from "@/test-support/users";
import { VERIFY_LINK, installTestOutbox, tokenIn } from "@/test-support/mail-helpers";
import { registerUser } from "./create-account";
import { verifyCredentials } from "../auth/credentials";
import { sendVerificationEmail, verifyEmail } from "./verify-email";
import { verifyPassword } from "../password-hashing";

const outbox = installTestOutbox();

const PASSWORD = "Tangerine-Quokka-42";

describeEachDatabase("registerUser", ({ handle }) => {
  it("stores the email trimmed and lower-cased", async () => {
    const { db } = handle();
    const result = await registerUser(db, { email: "  Grace.Hopper@Example.COM ", password: PASSWORD, name: "Grace" });
    if (!result.ok) throw new Error(`registration failed: ${result.code}`);

    const [row] = await db.select().from(users).where(eq(users.id, result.userId));
    expect(row?.email).toBe("grace.hopper@example.com");
    expect(row?.name).toBe("Grace");
    expect(row?.passwordChangedAt).toBeInstanceOf(Date);
  });

  it("refuses a second spelling of a confirmed address with EMAIL_TAKEN and keeps one row", async () => {
    const { db } = handle();
    const first = await registerUser(db, { email: "ada@example.com", password: PASSWORD });
    expect(first.ok).toBe(true);
    await db
      .update(users)
      .set({ emailVerified: sql`now()` })
      .where(eq(users.email, "ada@example.com"));
    const [before] = await db.select().from(users).where(eq(users.email, "ada@example.com"));

    const second = await registerUser(db, { email: " ADA@Example.com ", password: "Other-Password-9" });
    expect(second).toEqual({ ok: false, code: "EMAIL_TAKEN" });

    const rows = await db.select().from(users).where(eq(users.email, "ada@example.com"));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toEqual(before);
  });

  it("stores the password only as an argon2id hash", async () => {
    const { db } = handle();
    const result = await registerUser(db, { email: "linus@example.com", password: PASSWORD });
    if (!result.ok) throw new Error(`registration failed: ${result.code}`);

    const [row] = await db.select().from(users).where(eq(users.id, result.userId));
    expect(row?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(JSON.stringify(row)).not.toContain(PASSWORD);
    expect(await verifyPassword(row!.passwordHash!, PASSWORD)).toBe(true);
  });

  it("records one user.registered audit event for the new user, none for a refused one", async () => {
    const { db } = handle();
    const result = await registerUser(db, { email: "barbara@example.com", password: PASSWORD, ip: "203.0.113.7", userAgent: "Test/1" });
    if (!result.ok) throw new Error(`registration failed: ${result.code}`);
    await registerUser(db, { email: "Barbara@example.com", password: PASSWORD });

    const events = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "user.registered"), eq(auditEvents.userId, result.userId)));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ ip: "203.0.113.7", userAgent: "Test/1" });
    expect(JSON.stringify(events[0])).not.toContain(PASSWORD);

    const all = await db.select({ userId: auditEvents.userId }).from(auditEvents).where(eq(auditEvents.event, "user.registered"));
    expect(all.filter((e) => e.userId === result.userId)).toHaveLength(1);
  });

  it("replaces an unconfirmed account in place: one row, the new password and name, the old links gone", async () => {
    const { db } = handle();
    const email = uniqueEmail();
    const first = await registerUser(db, { email, password: "Stranger-Pass-31", name: "Mallory" });
    if (!first.ok) throw new Error("first registration failed");
    await sendVerificationEmail(db, { id: first.userId, email }, { ip: null, userAgent: null });

    const second = await registerUser(db, { email, password: PASSWORD, name: "Ada" });

    expect(second).toEqual({ ok: true, userId: first.userId, replaced: true });
    const rows = await db.select().from(users).where(eq(users.email, email));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: "Ada", emailVerified: null });
    expect(await verifyPassword(rows[0]!.passwordHash!, PASSWORD)).toBe(true);
    expect(await verifyPassword(rows[0]!.passwordHash!, "Stranger-Pass-31")).toBe(false);
    expect(await db.select().from(emailVerificationTokens).where(eq(emailVerificationTokens.userId, first.userId))).toEqual([]);
  });

  it("serialises a confirmation and a replacing registration of the same address: one of them wins whole, 10 times over", async () => {
    const { db } = handle();
    const outcomes = new Set<string>();
    for (let round = 0; round < 10; round++) {
      const email = uniqueEmail();
      const first = await registerUser(db, { email, password: "Stranger-Pass-31" });
      if (!first.ok) throw new Error("first registration failed");
      await sendVerificationEmail(db, { id: first.userId, email }, { ip: null, userAgent: null });
      const token = tokenIn((await outbox.to(email))[0], VERIFY_LINK);

      const [confirmed, replaced] = await Promise.all([
        verifyEmail(db, { token, password: "Stranger-Pass-31", ip: uniqueIp(), userAgent: null }),
        registerUser(db, { email, password: PASSWORD }),
      ]);

      const [row] = await db.select().from(users).where(eq(users.email, email));
      if (confirmed.ok) {
        // Confirmed first: the later registration found a confirmed account and changed nothing.
        expect(replaced).toEqual({ ok: false, code: "EMAIL_TAKEN" });
        expect(row?.emailVerified).toBeInstanceOf(Date);
        expect((await verifyCredentials(db, email, "Stranger-Pass-31")).ok).toBe(true);
        outcomes.add("confirmed");
      } else {
        // Replaced first: the earlier link is dead and nothing is confirmed.
        expect(replaced).toMatchObject({ ok: true, replaced: true });
        expect(confirmed).toEqual({ ok: false, code: "TOKEN_PROBLEM", problem: "invalid" });
        expect(row?.emailVerified).toBeNull();
        expect(await verifyPassword(row!.passwordHash!, PASSWORD)).toBe(true);
        outcomes.add("replaced");
      }
    }
    expect(outcomes.size).toBeGreaterThan(0);
  });
});
