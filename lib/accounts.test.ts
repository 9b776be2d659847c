import { and, eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { auditEvents, users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { registerUser } from "./accounts";
import { verifyPassword } from "./passwords";

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

  it("refuses a second spelling of a registered address with EMAIL_TAKEN and keeps one row", async () => {
    const { db } = handle();
    const first = await registerUser(db, { email: "ada@example.com", password: PASSWORD });
    expect(first.ok).toBe(true);
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
});
