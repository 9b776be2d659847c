// The device flow (RFC 8628) as one state machine: request, look-up at /device, decision, polls.
import { and, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import { auditEvents, deviceAuthorizations, jobs, sessions, users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { collectingSchedule, dumpAllTables, uniqueIp } from "@/test-support/reset-helpers";
import { insertSession } from "@/test-support/sessions";
import { createUser } from "@/test-support/users";
import { authenticateRequest } from "../auth/bearer";
import { hashToken } from "../tokens";
import { decideDeviceRequest, findDeviceRequest, openDeviceReview, reviewReference, DEVICE_USER_CODE_ACCOUNT_LIMIT } from "./approval";
import { deleteExpiredDeviceAuthorizations, pollDeviceToken, requestDeviceAuthorization } from "./flow";

const TOOL = { clientName: "rekey-cli on build-box", userAgent: "rekey-cli/1.0" };

async function newRequest(db: Database) {
  const result = await requestDeviceAuthorization(db, { ...TOOL, ip: uniqueIp() });
  if (!result.ok) throw new Error("rate limited");
  return result;
}

/** A confirmed user with a fresh browser session ("Confirm it's you" counts from its sign-in). */
async function signedIn(db: Database, options: { secondFactor?: boolean } = {}) {
  const user = await createUser(db);
  const session = await insertSession(db, { userId: user.id, userAgent: "browser", ip: uniqueIp(), secondFactor: options.secondFactor });
  return { user, session };
}

async function review(db: Database, who: Awaited<ReturnType<typeof signedIn>>, userCode: string) {
  const found = await findDeviceRequest(db, { userId: who.user.id, userCode, ip: uniqueIp(), userAgent: "browser" });
  if (!found.ok) throw new Error(`not found: ${found.code}`);
  return reviewReference(found.request.id, who.session.id);
}

async function decide(db: Database, who: Awaited<ReturnType<typeof signedIn>>, reference: string, decision: "approve" | "deny") {
  return decideDeviceRequest(db, {
    reference,
    decision,
    userId: who.user.id,
    sessionId: who.session.id,
    ip: uniqueIp(),
    userAgent: "browser",
  });
}

const poll = (db: Database, deviceCode: string, schedule = collectingSchedule().schedule) =>
  pollDeviceToken(db, { deviceCode, ip: uniqueIp(), userAgent: TOOL.userAgent }, schedule);

/** Lets the next poll come after the interval without waiting for it. */
const pollLater = (db: Database, deviceCode: string) =>
  db
    .update(deviceAuthorizations)
    .set({ lastPolledAt: sql`now() - interval '1 minute'` })
    .where(eq(deviceAuthorizations.deviceCodeHash, hashToken(deviceCode)));

/** The user's sessions of kind "device". */
const deviceSessions = (db: Database, userId: string) =>
  db
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, userId), eq(sessions.kind, "device")));

describeEachDatabase("device authorization", ({ handle }) => {
  const db = () => handle().db;

  it("answers a 256-bit device code and an 8-letter user code, and stores only their hashes", async () => {
    const request = await newRequest(db());
    expect(request.deviceCode).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(request.userCode).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
    expect(request).toMatchObject({ expiresIn: 600, interval: 5 });
    const dump = JSON.stringify(await dumpAllTables(db()));
    expect(dump).not.toContain(request.deviceCode);
    expect(dump).not.toContain(request.userCode);
    expect(dump).toContain(hashToken(request.deviceCode));
  });

  it("is pending until decided, and a poll sooner than the interval is slow_down, which raises it by 5 seconds", async () => {
    const request = await newRequest(db());
    expect(await poll(db(), request.deviceCode)).toMatchObject({ ok: false, error: "authorization_pending" });
    expect(await poll(db(), request.deviceCode)).toMatchObject({ ok: false, error: "slow_down" });
    const [row] = await db()
      .select()
      .from(deviceAuthorizations)
      .where(eq(deviceAuthorizations.deviceCodeHash, hashToken(request.deviceCode)));
    expect(row?.intervalSeconds).toBe(10);
    await pollLater(db(), request.deviceCode);
    expect(await poll(db(), request.deviceCode)).toMatchObject({ ok: false, error: "authorization_pending" });
  });

  it("an unknown or malformed device code is invalid_grant", async () => {
    expect(await poll(db(), "A".repeat(43))).toMatchObject({ ok: false, error: "invalid_grant" });
    expect(await poll(db(), "not a code")).toMatchObject({ ok: false, error: "invalid_grant" });
  });

  it("approved: the token is answered once, as a live device session with the tool's name, and the owner is emailed", async () => {
    const request = await newRequest(db());
    const person = await signedIn(db());
    const reference = await review(db(), person, request.userCode.toLowerCase().replace(/(.{4})/, "$1 "));
    expect(await decide(db(), person, reference, "approve")).toEqual({ ok: true });
    const collected = collectingSchedule();
    const issued = await poll(db(), request.deviceCode, collected.schedule);
    if (!issued.ok) throw new Error(issued.error);
    expect(issued.user).toEqual({ id: person.user.id, email: person.user.email });
    expect(issued.session.expiresIn).toBeGreaterThan(0);
    const [row] = await db()
      .select()
      .from(sessions)
      .where(eq(sessions.sessionToken, hashToken(issued.session.accessToken)));
    expect(row).toMatchObject({ userId: person.user.id, kind: "device", clientName: TOOL.clientName, passwordCheckedAt: null });
    // A bearer token on the API, never a cookie.
    const bearer = new Headers({ authorization: `Bearer ${issued.session.accessToken}` });
    expect(await authenticateRequest(db(), bearer)).toMatchObject({ ok: true, session: { kind: "device", userId: person.user.id } });
    const notices = await db()
      .select()
      .from(jobs)
      .where(and(eq(jobs.kind, "sign_in.new_device"), sql`${jobs.payload}->>'userId' = ${person.user.id}`));
    expect(notices).toHaveLength(1);
    expect(collected.pending).toHaveLength(1);
    // Never again for that code, however it is polled.
    expect(await poll(db(), request.deviceCode)).toMatchObject({ ok: false, error: "invalid_grant" });
    await pollLater(db(), request.deviceCode);
    expect(await poll(db(), request.deviceCode)).toMatchObject({ ok: false, error: "invalid_grant" });
    const approved = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, person.user.id), eq(auditEvents.event, "device.approved")));
    expect(approved).toHaveLength(1);
  });

  it("denied: access_denied, audited, and never a token", async () => {
    const request = await newRequest(db());
    const person = await signedIn(db());
    expect(await decide(db(), person, await review(db(), person, request.userCode), "deny")).toEqual({ ok: true });
    expect(await poll(db(), request.deviceCode)).toMatchObject({ ok: false, error: "access_denied" });
    expect(await poll(db(), request.deviceCode)).toMatchObject({ ok: false, error: "access_denied" });
    const denied = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, person.user.id), eq(auditEvents.event, "device.denied")));
    expect(denied).toHaveLength(1);
    expect(await deviceSessions(db(), person.user.id)).toHaveLength(0);
  });

  it("a decided request cannot be decided again: approve after deny and deny after approve change nothing", async () => {
    const request = await newRequest(db());
    const person = await signedIn(db());
    const reference = await review(db(), person, request.userCode);
    expect(await decide(db(), person, reference, "deny")).toEqual({ ok: true });
    expect(await decide(db(), person, reference, "approve")).toEqual({ ok: false, code: "NOT_PENDING" });
    expect(await poll(db(), request.deviceCode)).toMatchObject({ ok: false, error: "access_denied" });
    expect(await findDeviceRequest(db(), { userId: person.user.id, userCode: request.userCode, ip: uniqueIp(), userAgent: null })).toEqual({
      ok: false,
      code: "DECIDED",
    });
  });

  it("expired: expired_token to the tool, EXPIRED at /device, no approval", async () => {
    const request = await newRequest(db());
    const person = await signedIn(db());
    const reference = await review(db(), person, request.userCode);
    await db()
      .update(deviceAuthorizations)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(deviceAuthorizations.deviceCodeHash, hashToken(request.deviceCode)));
    expect(await poll(db(), request.deviceCode)).toMatchObject({ ok: false, error: "expired_token" });
    expect(await decide(db(), person, reference, "approve")).toEqual({ ok: false, code: "NOT_PENDING" });
    expect(await findDeviceRequest(db(), { userId: person.user.id, userCode: request.userCode, ip: uniqueIp(), userAgent: null })).toEqual({
      ok: false,
      code: "EXPIRED",
    });
    expect(await deleteExpiredDeviceAuthorizations(db())).toBeGreaterThanOrEqual(1);
    expect(await poll(db(), request.deviceCode)).toMatchObject({ ok: false, error: "invalid_grant" });
  });

  it("a password change between approval and poll means no token, then or later", async () => {
    const request = await newRequest(db());
    const person = await signedIn(db());
    expect(await decide(db(), person, await review(db(), person, request.userCode), "approve")).toEqual({ ok: true });
    await db()
      .update(users)
      .set({ credentialsVersion: sql`${users.credentialsVersion} + 1` })
      .where(eq(users.id, person.user.id));
    expect(await poll(db(), request.deviceCode)).toMatchObject({ ok: false, error: "expired_token" });
    expect(await poll(db(), request.deviceCode)).toMatchObject({ ok: false, error: "invalid_grant" });
    expect(await deviceSessions(db(), person.user.id)).toHaveLength(0);
  });

  it("approving needs 'Confirm it's you' on this session, and a second factor on it when the account has one; denying does not", async () => {
    const request = await newRequest(db());
    const person = await signedIn(db());
    const reference = await review(db(), person, request.userCode);
    await db()
      .update(sessions)
      .set({ passwordCheckedAt: sql`now() - interval '1 day'`, createdAt: sql`now() - interval '1 day'` })
      .where(eq(sessions.id, person.session.id));
    expect(await decide(db(), person, reference, "approve")).toEqual({ ok: false, code: "CONFIRMATION_NEEDED" });

    const twoFactor = await signedIn(db());
    await db()
      .update(users)
      .set({ twoFactorEnabledAt: sql`now()` })
      .where(eq(users.id, twoFactor.user.id));
    const second = await newRequest(db());
    const secondReference = await review(db(), twoFactor, second.userCode);
    expect(await decide(db(), twoFactor, secondReference, "approve")).toEqual({ ok: false, code: "CONFIRMATION_NEEDED" });
    const passed = await insertSession(db(), { userId: twoFactor.user.id, userAgent: "browser", ip: uniqueIp(), secondFactor: true });
    const withFactor = { user: twoFactor.user, session: passed };
    expect(await decide(db(), withFactor, await review(db(), withFactor, second.userCode), "approve")).toEqual({ ok: true });

    expect(await decide(db(), person, reference, "deny")).toEqual({ ok: true });
  });

  it("a review step opens only in the session that typed the code: another session's reference or a forged one approves nothing", async () => {
    const request = await newRequest(db());
    const person = await signedIn(db());
    const reference = await review(db(), person, request.userCode);
    const other = await signedIn(db());
    expect(await openDeviceReview(db(), reference, other.session.id)).toBeNull();
    expect(await decide(db(), other, reference, "approve")).toEqual({ ok: false, code: "NOT_PENDING" });
    const [id] = reference.split(".");
    expect(await decide(db(), other, `${id}.${"A".repeat(43)}`, "approve")).toEqual({ ok: false, code: "NOT_PENDING" });
    expect(await decide(db(), other, "garbage", "approve")).toEqual({ ok: false, code: "NOT_PENDING" });
    expect(await poll(db(), request.deviceCode)).toMatchObject({ ok: false, error: "authorization_pending" });
  });

  it(`tries at a user code are limited to ${DEVICE_USER_CODE_ACCOUNT_LIMIT.max} per account, right code or not`, async () => {
    const request = await newRequest(db());
    const person = await signedIn(db());
    for (let i = 0; i < DEVICE_USER_CODE_ACCOUNT_LIMIT.max; i++) {
      const wrong = await findDeviceRequest(db(), { userId: person.user.id, userCode: "BBBB-BBBB", ip: uniqueIp(), userAgent: null });
      expect(wrong).toEqual({ ok: false, code: "NOT_FOUND" });
    }
    const right = await findDeviceRequest(db(), { userId: person.user.id, userCode: request.userCode, ip: uniqueIp(), userAgent: null });
    expect(right).toMatchObject({ ok: false, code: "RATE_LIMITED" });
  });
});
