import { createHash, randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import { auditEvents, sessions, users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { insertSession } from "@/test-support/sessions";
import { createUser } from "@/test-support/users";
import { createSession, deleteExpiredSessions, deleteSessionByToken, findSession, nextCredentialsVersion, renewSession } from "./sessions";
import { deleteUserSessions, listUserSessions, revokeUserSession, signOutOtherSessions, signOutSession } from "./user-sessions";

const sha256Hex = (value: string) => createHash("sha256").update(value, "utf8").digest("hex");
const FAKE_HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

async function newSession(db: Database, userId: string) {
  return insertSession(db, { userId, userAgent: "Mozilla/5.0 Test", ip: "203.0.113.5" });
}

/** last_seen_at as PostgreSQL prints it (microseconds), so that any rewrite shows. */
async function lastSeenText(db: Database, id: string): Promise<string> {
  const [row] = await db
    .select({ at: sql<string>`${sessions.lastSeenAt}::text` })
    .from(sessions)
    .where(eq(sessions.id, id));
  if (!row) throw new Error(`no session ${id}`);
  return row.at;
}

/** Back-dates a session: created `createdAgo`, expiring in `expiresIn` (PostgreSQL intervals). */
async function setAge(db: Database, id: string, createdAgo: string, expiresIn: string): Promise<void> {
  await db
    .update(sessions)
    .set({ createdAt: sql`now() - ${createdAgo}::interval`, expires: sql`now() + ${expiresIn}::interval` })
    .where(eq(sessions.id, id));
}

async function raiseCredentialsVersion(db: Database, userId: string): Promise<void> {
  await db.update(users).set({ credentialsVersion: nextCredentialsVersion() }).where(eq(users.id, userId));
}

const DAY_MS = 86_400_000;
/** Within five minutes of `expected`: the database clock and ours agree that well. */
const expectNear = (actual: Date | undefined, expected: number) =>
  expect(Math.abs((actual?.getTime() ?? 0) - expected)).toBeLessThan(5 * 60_000);

async function setLastSeenAgo(db: Database, id: string, interval: string): Promise<string> {
  await db
    .update(sessions)
    .set({ lastSeenAt: sql`now() - ${interval}::interval` })
    .where(eq(sessions.id, id));
  return lastSeenText(db, id);
}

describeEachDatabase("sessions", ({ handle }) => {
  it("stores only the SHA-256 of the session token", async () => {
    const { db } = handle();
    const user = await createUser(db, { passwordHash: FAKE_HASH });
    const created = await newSession(db, user.id);
    expect(created.sessionToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const rows = await db.select().from(sessions).where(eq(sessions.userId, user.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.sessionToken).toBe(sha256Hex(created.sessionToken));
    expect(rows[0]?.id).toBe(created.id);

    const everything = await db.execute(sql`select * from sessions`);
    expect(JSON.stringify(everything)).not.toContain(created.sessionToken);
  });

  it("finds a session by its raw token and returns the user without the password hash", async () => {
    const { db } = handle();
    const user = await createUser(db, { name: "Ada", passwordHash: FAKE_HASH, confirmed: false });
    const created = await newSession(db, user.id);

    const found = await findSession(db, created.sessionToken);
    expect(found).not.toBeNull();
    expect(found?.session).toEqual({ id: created.id, sessionToken: created.sessionToken, userId: user.id, expires: created.expires });
    expect(found?.user).toStrictEqual({ id: user.id, email: user.email, name: "Ada", emailVerified: null });
    expect(JSON.stringify(found)).not.toContain(FAKE_HASH);
  });

  it("does not find a session by its stored hash or by an unknown token", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const created = await newSession(db, user.id);
    expect(await findSession(db, sha256Hex(created.sessionToken))).toBeNull();
    expect(await findSession(db, randomBytes(32).toString("base64url"))).toBeNull();
  });

  it("does not find an expired session", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const created = await newSession(db, user.id);
    await db
      .update(sessions)
      .set({ expires: sql`now() - interval '1 second'` })
      .where(eq(sessions.id, created.id));
    expect(await findSession(db, created.sessionToken)).toBeNull();
  });

  it("deleteUserSessions ends every session but the one kept, then all of them", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const other = await createUser(db);
    const [keep, second, third] = [await newSession(db, user.id), await newSession(db, user.id), await newSession(db, user.id)];
    const others = await newSession(db, other.id);

    expect(await deleteUserSessions(db, user.id, { exceptSessionId: keep!.id })).toBe(2);
    expect(await findSession(db, keep!.sessionToken)).not.toBeNull();
    expect(await findSession(db, second!.sessionToken)).toBeNull();
    expect(await findSession(db, third!.sessionToken)).toBeNull();

    expect(await deleteUserSessions(db, user.id)).toBe(1);
    expect(await db.select().from(sessions).where(eq(sessions.userId, user.id))).toEqual([]);
    expect(await findSession(db, others.sessionToken)).not.toBeNull();
  });

  it("deleteSessionByToken ends only that session", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const a = await newSession(db, user.id);
    const b = await newSession(db, user.id);
    await deleteSessionByToken(db, a.sessionToken);
    expect(await findSession(db, a.sessionToken)).toBeNull();
    expect(await findSession(db, b.sessionToken)).not.toBeNull();
  });

  it("deleteExpiredSessions removes expired sessions only", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const live = await newSession(db, user.id);
    const expired = await newSession(db, user.id);
    await db
      .update(sessions)
      .set({ expires: sql`now() - interval '1 second'` })
      .where(eq(sessions.id, expired.id));

    expect(await deleteExpiredSessions(db)).toBeGreaterThanOrEqual(1);
    const left = await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, user.id));
    expect(left).toEqual([{ id: live.id }]);
  });

  it("updates last_seen_at when it is older than a minute, and not again right after", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const created = await newSession(db, user.id);

    const old = await setLastSeenAgo(db, created.id, "2 minutes");
    expect(await findSession(db, created.sessionToken)).not.toBeNull();
    const touched = await lastSeenText(db, created.id);
    expect(touched).not.toBe(old);
    const [fresh] = await db
      .select({ recent: sql<boolean>`${sessions.lastSeenAt} > now() - interval '1 minute'` })
      .from(sessions)
      .where(eq(sessions.id, created.id));
    expect(fresh?.recent).toBe(true);

    expect(await findSession(db, created.sessionToken)).not.toBeNull();
    expect(await lastSeenText(db, created.id)).toBe(touched);
  });

  it("leaves last_seen_at alone when it is less than a minute old", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const created = await newSession(db, user.id);

    const recent = await setLastSeenAgo(db, created.id, "30 seconds");
    expect(await findSession(db, created.sessionToken)).not.toBeNull();
    expect(await lastSeenText(db, created.id)).toBe(recent);
  });

  it("listUserSessions lists only this user's unexpired sessions, most recently active first, without tokens", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const other = await createUser(db);
    const older = await newSession(db, user.id);
    const newer = await newSession(db, user.id);
    const expired = await newSession(db, user.id);
    await newSession(db, other.id);
    await setLastSeenAgo(db, older.id, "2 hours");
    await setLastSeenAgo(db, newer.id, "5 minutes");
    await db
      .update(sessions)
      .set({ expires: sql`now() - interval '1 second'` })
      .where(eq(sessions.id, expired.id));

    const listed = await listUserSessions(db, user.id);
    expect(listed.map((s) => s.id)).toEqual([newer.id, older.id]);
    expect(listed[0]).toMatchObject({ userAgent: "Mozilla/5.0 Test", ip: "203.0.113.5", expires: newer.expires });
    expect(listed[0]?.createdAt).toBeInstanceOf(Date);
    expect(listed[0]?.lastSeenAt).toBeInstanceOf(Date);
    expect(JSON.stringify(listed)).not.toContain(newer.sessionToken);
    expect(JSON.stringify(listed)).not.toContain(sha256Hex(newer.sessionToken));
  });

  it("revokeUserSession ends the user's own session by id and says so once", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const a = await newSession(db, user.id);
    const b = await newSession(db, user.id);

    expect(await revokeUserSession(db, user.id, a.id)).toBe(true);
    expect(await findSession(db, a.sessionToken)).toBeNull();
    expect(await findSession(db, b.sessionToken)).not.toBeNull();
    expect(await revokeUserSession(db, user.id, a.id)).toBe(false);
  });

  it("revokeUserSession cannot end another user's session: it returns false and the session lives on", async () => {
    const { db } = handle();
    const attacker = await createUser(db);
    const victim = await createUser(db);
    await newSession(db, attacker.id);
    const target = await newSession(db, victim.id);

    expect(await revokeUserSession(db, attacker.id, target.id)).toBe(false);
    expect(await findSession(db, target.sessionToken)).not.toBeNull();
    expect(await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.id, target.id))).toEqual([{ id: target.id }]);
    expect(await signOutSession(db, { userId: attacker.id, sessionId: target.id, ip: null, userAgent: null })).toBe(false);
    expect(await findSession(db, target.sessionToken)).not.toBeNull();
  });

  it.each([
    ["an empty string", ""],
    ["words", "not-a-session"],
    ["SQL", "' or 1=1 --"],
    ["a uuid with a stray character", "0b5c2f8e-6a1d-4c3b-9e7f-1a2b3c4d5e6fX"],
    ["an unknown uuid", "0b5c2f8e-6a1d-4c3b-9e7f-1a2b3c4d5e6f"],
  ])("revokeUserSession refuses %s cleanly, ending nothing", async (_label, sessionId) => {
    const { db } = handle();
    const user = await createUser(db);
    const live = await newSession(db, user.id);
    await expect(revokeUserSession(db, user.id, sessionId)).resolves.toBe(false);
    expect(await findSession(db, live.sessionToken)).not.toBeNull();
  });

  it("signOutSession ends one session and audits it with the count and the reason", async () => {
    const { db } = handle();
    const user = await createUser(db);
    await newSession(db, user.id);
    const other = await newSession(db, user.id);

    expect(await signOutSession(db, { userId: user.id, sessionId: other.id, ip: "198.51.100.7", userAgent: "UA" })).toBe(true);
    const rows = await db.select().from(auditEvents).where(eq(auditEvents.userId, user.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      event: "sessions.revoked",
      ip: "198.51.100.7",
      userAgent: "UA",
      details: { count: 1, reason: "user_signed_out_one" },
    });
  });

  it("signOutOtherSessions keeps the current session, ends the rest, and audits how many", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const bystander = await createUser(db);
    const current = await newSession(db, user.id);
    const others = [await newSession(db, user.id), await newSession(db, user.id)];
    const theirs = await newSession(db, bystander.id);

    expect(await signOutOtherSessions(db, { userId: user.id, currentSessionId: current.id, ip: null, userAgent: null })).toBe(2);
    expect(await findSession(db, current.sessionToken)).not.toBeNull();
    for (const ended of others) expect(await findSession(db, ended.sessionToken)).toBeNull();
    expect(await findSession(db, theirs.sessionToken)).not.toBeNull();
    const rows = await db
      .select({ event: auditEvents.event, details: auditEvents.details })
      .from(auditEvents)
      .where(eq(auditEvents.userId, user.id));
    expect(rows).toEqual([{ event: "sessions.revoked", details: { count: 2, reason: "user_signed_out_others" } }]);

    expect(await signOutOtherSessions(db, { userId: user.id, currentSessionId: current.id, ip: null, userAgent: null })).toBe(0);
  });

  it("signOutOtherSessions refuses to run without a valid current session id rather than end every session", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const current = await newSession(db, user.id);
    await expect(signOutOtherSessions(db, { userId: user.id, currentSessionId: "", ip: null, userAgent: null })).rejects.toThrow();
    expect(await findSession(db, current.sessionToken)).not.toBeNull();
  });

  it("stores no session for a credentials version that is no longer the user's", async () => {
    const { db } = handle();
    const user = await createUser(db);
    await raiseCredentialsVersion(db, user.id);
    expect(await createSession(db, { userId: user.id, credentialsVersion: 1, ip: null, userAgent: null })).toBeNull();
    expect(await db.select().from(sessions).where(eq(sessions.userId, user.id))).toEqual([]);
    const current = await createSession(db, { userId: user.id, credentialsVersion: 2, ip: null, userAgent: null });
    expect(current).not.toBeNull();
    const [row] = await db.select({ credentialsVersion: sessions.credentialsVersion }).from(sessions).where(eq(sessions.id, current!.id));
    expect(row?.credentialsVersion).toBe(2);
  });

  it("raising the credentials version ends every session of the user at once, and only theirs", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const other = await createUser(db);
    const mine = [await newSession(db, user.id), await newSession(db, user.id)];
    const theirs = await newSession(db, other.id);

    await raiseCredentialsVersion(db, user.id);
    for (const ended of mine) expect(await findSession(db, ended.sessionToken)).toBeNull();
    expect(await listUserSessions(db, user.id)).toEqual([]);
    expect(await findSession(db, theirs.sessionToken)).not.toBeNull();
    // The rows are gone at the next clean-up; the other user's stays.
    expect(await deleteExpiredSessions(db)).toBeGreaterThanOrEqual(2);
    expect(await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, user.id))).toEqual([]);
    expect(await findSession(db, theirs.sessionToken)).not.toBeNull();
  });

  it("a new session expires one idle lifetime (SESSION_MAX_AGE_DAYS) from now", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const created = await newSession(db, user.id);
    expectNear(created.expires, Date.now() + 30 * DAY_MS);
  });

  it("does not find a session older than the absolute lifetime, even one whose expiry is still ahead", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const old = await newSession(db, user.id);
    const young = await newSession(db, user.id);
    await setAge(db, old.id, "90 days 1 minute", "20 days");
    await setAge(db, young.id, "89 days 23 hours", "20 days");
    expect(await findSession(db, old.sessionToken)).toBeNull();
    expect(await findSession(db, young.sessionToken)).not.toBeNull();
    expect((await listUserSessions(db, user.id)).map((s) => s.id)).toEqual([young.id]);
    expect(await deleteExpiredSessions(db)).toBeGreaterThanOrEqual(1);
    expect(await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, user.id))).toEqual([{ id: young.id }]);
  });

  it("renewSession leaves a session renewed less than a day ago alone", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const created = await newSession(db, user.id);
    await setAge(db, created.id, "20 hours", "29 days 4 hours");
    expect(await renewSession(db, created.sessionToken)).toBeNull();
  });

  it("renewSession moves the expiry of a session last renewed more than a day ago to a full idle lifetime from now", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const created = await newSession(db, user.id);
    await setAge(db, created.id, "10 days", "28 days");
    const renewed = await renewSession(db, created.sessionToken);
    expectNear(renewed?.expires, Date.now() + 30 * DAY_MS);
    expect((await findSession(db, created.sessionToken))?.session.expires).toEqual(renewed?.expires);
    expect(await renewSession(db, created.sessionToken)).toBeNull();
  });

  it("renewSession never moves an expiry past the absolute lifetime (SESSION_ABSOLUTE_MAX_AGE_DAYS)", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const created = await newSession(db, user.id);
    await setAge(db, created.id, "85 days", "3 days");
    const renewed = await renewSession(db, created.sessionToken);
    expectNear(renewed?.expires, Date.now() + 5 * DAY_MS);
    // Capped: nothing more to gain, so nothing is written and no cookie is re-issued.
    expect(await renewSession(db, created.sessionToken)).toBeNull();
  });

  it("renewSession does not revive a session that is expired, too old or for old credentials", async () => {
    const { db } = handle();
    const user = await createUser(db);
    const expired = await newSession(db, user.id);
    const tooOld = await newSession(db, user.id);
    await setAge(db, expired.id, "40 days", "-1 minute");
    await setAge(db, tooOld.id, "91 days", "10 days");
    expect(await renewSession(db, expired.sessionToken)).toBeNull();
    expect(await renewSession(db, tooOld.sessionToken)).toBeNull();

    const other = await createUser(db);
    const stale = await newSession(db, other.id);
    await setAge(db, stale.id, "10 days", "20 days");
    await raiseCredentialsVersion(db, other.id);
    expect(await renewSession(db, stale.sessionToken)).toBeNull();
    expect(await renewSession(db, randomBytes(32).toString("base64url"))).toBeNull();
  });
});
