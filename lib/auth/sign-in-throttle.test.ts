import { and, eq } from "drizzle-orm";
import { afterEach, beforeAll, expect, it } from "vitest";
import type { Database } from "@/db/client";
import { auditEvents } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { createUser, uniqueEmail } from "@/test-support/users";
import { overrideEnvForTests } from "../env";
import { hashPassword } from "../password-hashing";
import { emailFingerprint } from "../tokens";
import { verifyCredentials } from "./credentials";
import { attemptSignIn, peekSignInThrottle, signInThrottledMessage, type SignInResult } from "./sign-in-throttle";

const PASSWORD = "Tangerine-Quokka-42";
const WRONG = "Wrong-Password-1";
const UA = "Mozilla/5.0 (X11; Linux x86_64) Test";
const THROTTLED_MESSAGE = "Too many sign-in attempts. Try again in 15 minutes.";

let passwordHash: string;
beforeAll(async () => {
  passwordHash = await hashPassword(PASSWORD);
});
afterEach(() => {
  overrideEnvForTests({});
});

let ipCounter = 0;
/** A client address not used before in this file, so no two tests share a bucket. */
function freshIp(): string {
  ipCounter += 1;
  return `198.51.100.${ipCounter}`;
}

async function attempt(db: Database, email: string, password: string, ip: string): Promise<SignInResult> {
  return attemptSignIn(db, { email, password, ip, userAgent: UA });
}

async function failTimes(db: Database, email: string, ip: string, times: number): Promise<SignInResult[]> {
  const results: SignInResult[] = [];
  for (let i = 0; i < times; i++) results.push(await attempt(db, email, WRONG, ip));
  return results;
}

/** The result without the wait, which may differ by a second between two otherwise equal answers. */
const shape = (result: SignInResult) => (result.ok ? { ok: true } : { ok: false, code: result.code });

async function auditedEvents(db: Database, email: string): Promise<string[]> {
  const rows = await db
    .select({ event: auditEvents.event })
    .from(auditEvents)
    .where(eq(auditEvents.emailHmac, emailFingerprint(email)))
    .orderBy(auditEvents.createdAt);
  return rows.map((r) => r.event);
}

describeEachDatabase("sign-in throttling", ({ handle }) => {
  it("lets no more than 10 of 20 parallel wrong guesses reach the password check", async () => {
    const { db } = handle();
    const user = await createUser(db, { passwordHash });
    const ip = freshIp();
    const results = await Promise.all(Array.from({ length: 20 }, () => attempt(db, user.email, WRONG, ip)));
    const codes = results.map((r) => (r.ok ? "OK" : r.code));
    expect(codes.filter((c) => c === "INVALID_CREDENTIALS")).toHaveLength(10);
    expect(codes.filter((c) => c === "RATE_LIMITED")).toHaveLength(10);
  });

  it("gives a successful attempt's per-IP count back", async () => {
    const { db } = handle();
    overrideEnvForTests({ SIGN_IN_FAILURES_PER_IP_PER_HOUR: "3" });
    const user = await createUser(db, { passwordHash });
    const ip = freshIp();
    for (let i = 0; i < 5; i++) expect((await attempt(db, user.email, PASSWORD, ip)).ok).toBe(true);
    await failTimes(db, uniqueEmail("other"), ip, 3);
    expect(shape(await attempt(db, user.email, PASSWORD, ip))).toEqual({ ok: false, code: "RATE_LIMITED" });
  });

  it("refuses the 11th attempt after 10 failures from one IP, even with the right password, without checking it", async () => {
    const { db } = handle();
    const user = await createUser(db, { passwordHash });
    const ip = freshIp();

    const failures = await failTimes(db, user.email, ip, 10);
    expect(failures).toEqual(Array.from({ length: 10 }, () => ({ ok: false, code: "INVALID_CREDENTIALS" })));

    const refused = await attempt(db, user.email, PASSWORD, ip);
    expect(refused).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    if (refused.ok || refused.code !== "RATE_LIMITED") throw new Error("not throttled");
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(15 * 60);

    // The password itself is right: only the throttle refused it.
    expect((await verifyCredentials(db, user.email, PASSWORD)).ok).toBe(true);
    const events = await auditedEvents(db, user.email);
    expect(events.filter((e) => e === "user.sign_in_failed")).toHaveLength(10);
    expect(events.at(-1)).toBe("user.sign_in_throttled");
    expect(await signInThrottledMessage(db, { email: user.email, ip })).toBe(THROTTLED_MESSAGE);
  });

  it("throttles an unknown address after the same 10 failures, with the same answer and message", async () => {
    const { db } = handle();
    const known = await createUser(db, { passwordHash });
    const unknown = uniqueEmail("nobody");
    const ip = freshIp();

    const knownResults = [...(await failTimes(db, known.email, ip, 10)), await attempt(db, known.email, PASSWORD, ip)];
    const unknownResults = [...(await failTimes(db, unknown, ip, 10)), await attempt(db, unknown, PASSWORD, ip)];

    expect(unknownResults.map(shape)).toEqual(knownResults.map(shape));
    expect(unknownResults.at(-1)).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    expect(await signInThrottledMessage(db, { email: unknown, ip })).toBe(THROTTLED_MESSAGE);
    expect(await signInThrottledMessage(db, { email: known.email, ip })).toBe(THROTTLED_MESSAGE);
    expect(await auditedEvents(db, unknown)).toEqual([
      ...Array.from({ length: 10 }, () => "user.sign_in_failed"),
      "user.sign_in_throttled",
    ]);
  });

  it("counts an address however it is capitalised or padded as the same address", async () => {
    const { db } = handle();
    const user = await createUser(db, { passwordHash });
    const ip = freshIp();
    await failTimes(db, user.email, ip, 5);
    await failTimes(db, `  ${user.email.toUpperCase()} `, ip, 5);
    expect(await attempt(db, user.email, PASSWORD, ip)).toMatchObject({ ok: false, code: "RATE_LIMITED" });
  });

  it("does not block the same account from another IP once one IP has spent the pair limit", async () => {
    const { db } = handle();
    const user = await createUser(db, { passwordHash });
    const attackerIp = freshIp();
    await failTimes(db, user.email, attackerIp, 10);
    expect(await attempt(db, user.email, PASSWORD, attackerIp)).toMatchObject({ ok: false, code: "RATE_LIMITED" });

    expect(await attempt(db, user.email, PASSWORD, freshIp())).toEqual({
      ok: true,
      user: {
        id: user.id,
        email: user.email,
        name: null,
        credentialsVersion: 1,
        twoFactor: false,
        secondFactors: { totp: false, passkey: false },
      },
    });
  });

  it("blocks one IP across many addresses once the per-IP limit is spent, and only that IP", async () => {
    const { db } = handle();
    overrideEnvForTests({ SIGN_IN_FAILURES_PER_IP_PER_HOUR: "5" });
    const user = await createUser(db, { passwordHash });
    const ip = freshIp();

    for (let i = 0; i < 5; i++)
      expect(await attempt(db, uniqueEmail(`spray${i}`), WRONG, ip)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });

    const refused = await attempt(db, user.email, PASSWORD, ip);
    expect(refused).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    const budget = await peekSignInThrottle(db, { email: uniqueEmail("another"), ip });
    expect(budget).toMatchObject({ allowed: false, limit: "ip" });
    if (!budget.allowed) expect(budget.retryAfterSeconds).toBeLessThanOrEqual(60 * 60);

    expect((await attempt(db, user.email, PASSWORD, freshIp())).ok).toBe(true);
  });

  it("forgets the pair's failures after a success, so the full budget is back", async () => {
    const { db } = handle();
    overrideEnvForTests({ SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP: "3" });
    const user = await createUser(db, { passwordHash });
    const ip = freshIp();

    await failTimes(db, user.email, ip, 2);
    expect((await attempt(db, user.email, PASSWORD, ip)).ok).toBe(true);

    expect(await failTimes(db, user.email, ip, 3)).toEqual(Array.from({ length: 3 }, () => ({ ok: false, code: "INVALID_CREDENTIALS" })));
    expect(await attempt(db, user.email, PASSWORD, ip)).toMatchObject({ ok: false, code: "RATE_LIMITED" });
  });

  it("keeps the per-IP count after a success: one good password buys no fresh budget", async () => {
    const { db } = handle();
    overrideEnvForTests({ SIGN_IN_FAILURES_PER_IP_PER_HOUR: "3" });
    const user = await createUser(db, { passwordHash });
    const ip = freshIp();

    await failTimes(db, uniqueEmail("spray"), ip, 2);
    expect((await attempt(db, user.email, PASSWORD, ip)).ok).toBe(true);
    await failTimes(db, uniqueEmail("spray"), ip, 1);
    expect(await attempt(db, user.email, PASSWORD, ip)).toMatchObject({ ok: false, code: "RATE_LIMITED" });
  });

  it("does not count successful sign-ins as failures", async () => {
    const { db } = handle();
    overrideEnvForTests({ SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP: "2", SIGN_IN_FAILURES_PER_IP_PER_HOUR: "2" });
    const user = await createUser(db, { passwordHash });
    const ip = freshIp();
    for (let i = 0; i < 4; i++) expect((await attempt(db, user.email, PASSWORD, ip)).ok).toBe(true);
    expect(await peekSignInThrottle(db, { email: user.email, ip })).toEqual({ allowed: true });
  });

  it("records the throttled attempt in the audit log with the client's IP and user agent", async () => {
    const { db } = handle();
    overrideEnvForTests({ SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP: "1" });
    const user = await createUser(db, { passwordHash });
    const ip = freshIp();
    await failTimes(db, user.email, ip, 1);
    await attempt(db, user.email, PASSWORD, ip);

    const [row] = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "user.sign_in_throttled"), eq(auditEvents.emailHmac, emailFingerprint(user.email))));
    expect(row).toMatchObject({ ip, userAgent: UA, details: { limit: "account_ip" } });
    expect(JSON.stringify(row)).not.toContain(PASSWORD);
    expect(JSON.stringify(row)).not.toContain(user.email);
  });

  it("writes one throttled audit row for a flood of guesses past the limit, not one per guess", async () => {
    const { db } = handle();
    // The per-address limit across IPs out of the way: it would write its own one row at its crossing.
    overrideEnvForTests({ SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP: "3", SIGN_IN_FAILURES_PER_ACCOUNT_PER_HOUR: "1000" });
    const user = await createUser(db, { passwordHash });
    const ip = freshIp();
    const results = await failTimes(db, user.email, ip, 100);
    expect(results.filter((r) => !r.ok && r.code === "RATE_LIMITED")).toHaveLength(97);
    expect(await auditedEvents(db, user.email)).toEqual([
      "user.sign_in_failed",
      "user.sign_in_failed",
      "user.sign_in_failed",
      "user.sign_in_throttled",
    ]);
  });
});
