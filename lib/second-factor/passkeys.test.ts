import { randomBytes } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { auditEvents, passkeys, users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, collectingSchedule, uniqueIp } from "@/test-support/reset-helpers";
import { createUser } from "@/test-support/users";
import { hasPasskeys, listPasskeys, removeAllPasskeys, removePasskey, removePasskeysAddedSince, renamePasskey } from "./passkeys";

const outbox = installTestOutbox();
const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });

describeEachDatabase("passkey management", ({ handle }) => {
  const db = () => handle().db;

  /** Inserts a passkey row as a finished registration would, added at `version`. */
  async function insertPasskey(userId: string, name: string, version = 1) {
    const [row] = await db()
      .insert(passkeys)
      .values({
        userId,
        name,
        credentialId: randomBytes(16).toString("base64url"),
        publicKey: randomBytes(77).toString("base64url"),
        addedCredentialsVersion: version,
        deviceType: "singleDevice",
        backedUp: false,
      })
      .returning();
    return row!;
  }

  it("lists a user's passkeys without key material, oldest first, and only theirs", async () => {
    const user = await createUser(db());
    const other = await createUser(db());
    expect(await hasPasskeys(db(), user.id)).toBe(false);
    const first = await insertPasskey(user.id, "Laptop");
    await db()
      .update(passkeys)
      .set({ createdAt: sql`now() - interval '1 day'` })
      .where(eq(passkeys.id, first.id));
    await insertPasskey(user.id, "Phone");
    await insertPasskey(other.id, "Theirs");
    const list = await listPasskeys(db(), user.id);
    expect(list.map((p) => p.name)).toEqual(["Laptop", "Phone"]);
    expect(Object.keys(list[0]!).sort()).toEqual(["backedUp", "createdAt", "deviceType", "id", "lastUsedAt", "name"]);
    expect(await hasPasskeys(db(), user.id)).toBe(true);
  });

  it("renames only the user's own passkey", async () => {
    const user = await createUser(db());
    const other = await createUser(db());
    const theirs = await insertPasskey(other.id, "Theirs");
    const mine = await insertPasskey(user.id, "Old");
    expect(await renamePasskey(db(), { userId: user.id, passkeyId: mine.id, name: "New", ...context() })).toMatchObject({
      ok: true,
      passkey: { name: "New" },
    });
    expect(await renamePasskey(db(), { userId: user.id, passkeyId: theirs.id, name: "Mine now", ...context() })).toEqual({
      ok: false,
      code: "NOT_FOUND",
    });
    const [row] = await db().select().from(passkeys).where(eq(passkeys.id, theirs.id));
    expect(row!.name).toBe("Theirs");
  });

  it("removes one passkey with an audit row and an owner email; another user's passkey is not found", async () => {
    const user = await createUser(db());
    const other = await createUser(db());
    const theirs = await insertPasskey(other.id, "Theirs");
    const mine = await insertPasskey(user.id, "Laptop");
    const scheduled = collectingSchedule();
    expect(await removePasskey(db(), scheduled.schedule, { userId: user.id, passkeyId: theirs.id, ...context() })).toEqual({
      ok: false,
      code: "NOT_FOUND",
    });
    expect(await removePasskey(db(), scheduled.schedule, { userId: user.id, passkeyId: mine.id, ...context() })).toMatchObject({
      ok: true,
    });
    expect(await hasPasskeys(db(), user.id)).toBe(false);
    expect(await hasPasskeys(db(), other.id)).toBe(true);
    const events = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, user.id), eq(auditEvents.event, "passkey.removed")));
    expect(events[0]?.details).toEqual({ passkey_id: mine.id });
    await scheduled.runAll();
    const [mail] = await outbox.to(user.email, "A passkey was removed from your Rekey account");
    expect(mail?.text).toContain("The passkey named “Laptop” was removed");
    expect(mail?.text).toMatch(/\/wasnt-me\/[A-Za-z0-9_-]{43}/);
  });

  it("removes every passkey of a user at once, emailing once; none to remove sends nothing", async () => {
    const user = await createUser(db());
    await insertPasskey(user.id, "Laptop");
    await insertPasskey(user.id, "Phone");
    const scheduled = collectingSchedule();
    expect(await removeAllPasskeys(db(), scheduled.schedule, { userId: user.id, ...context() })).toEqual({ removed: 2 });
    expect(await removeAllPasskeys(db(), scheduled.schedule, { userId: user.id, ...context() })).toEqual({ removed: 0 });
    await scheduled.runAll();
    const mails = await outbox.to(user.email);
    expect(mails.map((m) => m.subject)).toEqual(["Every passkey was removed from your Rekey account"]);
    expect(mails[0]?.text).toContain("All 2 passkeys of your Rekey account were removed.");
  });

  it("removes the passkeys added at or after a credentials version, and every one for a report without a version", async () => {
    const user = await createUser(db());
    await db().update(users).set({ credentialsVersion: 3 }).where(eq(users.id, user.id));
    await insertPasskey(user.id, "Before", 2);
    await insertPasskey(user.id, "Same", 3);
    await insertPasskey(user.id, "After", 4);
    expect(await db().transaction((tx) => removePasskeysAddedSince(tx, user.id, 3))).toBe(2);
    expect((await listPasskeys(db(), user.id)).map((p) => p.name)).toEqual(["Before"]);
    expect(await db().transaction((tx) => removePasskeysAddedSince(tx, user.id, null))).toBe(1);
  });
});
