// Online guessing of one address from many IPs (issue 21, OWASP's device cookies): the
// per-address limit across IPs, a recognised device's own bucket, and what the owner is told.
import { and, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import { jobs } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox, REPORT_LINK } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, collectingSchedule, uniqueIp } from "@/test-support/reset-helpers";
import { createUser, CURRENT_PASSWORD, uniqueEmail } from "@/test-support/users";
import { deviceCookieAfterSignIn, recogniseDevice } from "./device-token";
import { checkSignInPassword, issueDeviceSession, type PasswordStepResult } from "./sign-in";
import { DEVICE_LIMIT, signInThrottledMessage } from "./sign-in-throttle";

const outbox = installTestOutbox();
const WRONG = "Wrong-Password-1";
const FAILURES_SUBJECT = "Repeated failed sign-ins to your Rekey account";
const NEW_DEVICE_SUBJECT = "New sign-in to your Rekey account";

/** One password step from a browser carrying `cookie` (its device cookie), as authorize() runs it. */
function signInFrom(db: Database, email: string, password: string, options: { cookie?: string | null; ip?: string } = {}) {
  const device = recogniseDevice(options.cookie, email);
  return checkSignInPassword(db, { email, password, device, ip: options.ip ?? uniqueIp(), userAgent: CHROME_ON_WINDOWS }, () => {});
}

const code = (r: PasswordStepResult) => (r.ok ? "OK" : r.code);

async function jobsOfKind(db: Database, kind: string, email: string) {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.kind, kind), sql`${jobs.payload}->>'email' = ${email}`));
}

describeEachDatabase("guessing one address from many IPs", ({ handle, driver }) => {
  const db = () => handle().db;

  it("refuses an address past SIGN_IN_FAILURES_PER_ACCOUNT_PER_HOUR from every new IP, even the right password, alike for an address without an account", async () => {
    outbox.configure({ SIGN_IN_FAILURES_PER_ACCOUNT_PER_HOUR: "5" });
    const user = await createUser(db());
    const nobody = uniqueEmail("nobody");
    for (const email of [user.email, nobody]) {
      for (let i = 0; i < 5; i++) expect(code(await signInFrom(db(), email, WRONG))).toBe("INVALID_CREDENTIALS");
      expect(code(await signInFrom(db(), email, email === user.email ? CURRENT_PASSWORD : WRONG))).toBe("RATE_LIMITED");
    }
    const ip = uniqueIp();
    expect(await signInThrottledMessage(db(), { email: user.email, ip })).toBe("Too many sign-in attempts. Try again in 60 minutes.");
    expect(await signInThrottledMessage(db(), { email: nobody, ip })).toBe("Too many sign-in attempts. Try again in 60 minutes.");
  });

  it("lets the owner's recognised browser sign in with the right password while the address is throttled for everyone else", async () => {
    outbox.configure({ SIGN_IN_FAILURES_PER_ACCOUNT_PER_HOUR: "5" });
    const user = await createUser(db());
    const cookie = deviceCookieAfterSignIn(null, user.email, null);
    for (let i = 0; i < 8; i++) await signInFrom(db(), user.email, WRONG);
    expect(code(await signInFrom(db(), user.email, CURRENT_PASSWORD))).toBe("RATE_LIMITED");
    expect(code(await signInFrom(db(), user.email, CURRENT_PASSWORD, { cookie }))).toBe("OK");
    // A token that is forged, or another account's, is no device at all.
    const forged = cookie.slice(0, -2) + (cookie.endsWith("AA") ? "BB" : "AA");
    expect(code(await signInFrom(db(), user.email, CURRENT_PASSWORD, { cookie: forged }))).toBe("RATE_LIMITED");
    const other = deviceCookieAfterSignIn(null, uniqueEmail("other"), null);
    expect(code(await signInFrom(db(), user.email, CURRENT_PASSWORD, { cookie: other }))).toBe("RATE_LIMITED");
  });

  it("gives a recognised browser its own bucket of 10 failures per 15 minutes, which no one else's failures spend", async () => {
    outbox.configure({ SIGN_IN_FAILURES_PER_ACCOUNT_PER_HOUR: "5" });
    const user = await createUser(db());
    const owner = deviceCookieAfterSignIn(null, user.email, null);
    const laptop = deviceCookieAfterSignIn(null, user.email, null);
    for (let i = 0; i < 30; i++) await signInFrom(db(), user.email, WRONG);
    for (let i = 0; i < DEVICE_LIMIT.max; i++)
      expect(code(await signInFrom(db(), user.email, WRONG, { cookie: owner }))).toBe("INVALID_CREDENTIALS");
    expect(code(await signInFrom(db(), user.email, CURRENT_PASSWORD, { cookie: owner }))).toBe("RATE_LIMITED");
    expect(
      await signInThrottledMessage(db(), { email: user.email, ip: uniqueIp(), device: recogniseDevice(owner, user.email)!.nonce }),
    ).toBe("Too many sign-in attempts. Try again in 15 minutes.");
    // Another device of the owner's still has its whole bucket.
    expect(code(await signInFrom(db(), user.email, CURRENT_PASSWORD, { cookie: laptop }))).toBe("OK");
  });

  it("emails the owner once when the per-address limit is crossed, never for an address without an account", async () => {
    outbox.configure({ SIGN_IN_FAILURES_PER_ACCOUNT_PER_HOUR: "3" });
    const user = await createUser(db());
    const nobody = uniqueEmail("nobody");
    const { schedule, runAll } = collectingSchedule();
    for (const email of [user.email, nobody])
      for (let i = 0; i < 10; i++)
        await checkSignInPassword(db(), { email, password: WRONG, device: null, ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS }, schedule);
    // Read before they run: a job's payload is erased when it ends.
    expect(await jobsOfKind(db(), "sign_in.repeated_failures", user.email)).toHaveLength(1);
    expect(await jobsOfKind(db(), "sign_in.repeated_failures", nobody)).toHaveLength(0);
    await runAll();
    const sent = await outbox.to(user.email, FAILURES_SUBJECT);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.text).toMatch(/many\s+wrong\s+passwords/);
    expect(sent[0]!.text).toContain("/forgot-password");
    expect(await outbox.to(nobody)).toEqual([]);
  });

  it("writes the owner's new-device email with the session of a browser that never signed in to the account, and none for a recognised one", async () => {
    const user = await createUser(db());
    const { schedule, runAll } = collectingSchedule();
    const ip = uniqueIp();
    const result = await checkSignInPassword(db(), {
      email: user.email,
      password: CURRENT_PASSWORD,
      device: null,
      ip,
      userAgent: CHROME_ON_WINDOWS,
    });
    if (!result.ok) throw new Error(result.code);
    const grant = { userId: user.id, credentialsVersion: result.user.credentialsVersion, ip, userAgent: CHROME_ON_WINDOWS };
    expect(await issueDeviceSession(db(), grant, false, schedule)).not.toBeNull();
    expect(await issueDeviceSession(db(), grant, true, schedule)).not.toBeNull();
    // A sign-in whose password changed meanwhile stores no session, and tells no one of it.
    expect(await issueDeviceSession(db(), { ...grant, credentialsVersion: grant.credentialsVersion + 1 }, false, schedule)).toBeNull();
    expect(await jobsOfKind(db(), "sign_in.new_device", user.email)).toHaveLength(1);
    await runAll();
    const sent = await outbox.to(user.email, NEW_DEVICE_SUBJECT);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.text).toContain(ip);
    expect(sent[0]!.text).toContain("Chrome");
    expect(sent[0]!.text).toMatch(REPORT_LINK);
  });

  // PGlite runs one query at a time: a race can only show on PostgreSQL.
  if (driver === "postgres") {
    it("lets no more than the per-address limit of 40 parallel wrong guesses from 40 IPs reach the password check, and writes one owner email", async () => {
      outbox.configure({ SIGN_IN_FAILURES_PER_ACCOUNT_PER_HOUR: "20" });
      const user = await createUser(db());
      const results = await Promise.all(Array.from({ length: 40 }, () => signInFrom(db(), user.email, WRONG)));
      expect(results.filter((r) => code(r) === "INVALID_CREDENTIALS")).toHaveLength(20);
      expect(results.filter((r) => code(r) === "RATE_LIMITED")).toHaveLength(20);
      expect(await jobsOfKind(db(), "sign_in.repeated_failures", user.email)).toHaveLength(1);
    });

    it("lets no more than 10 of 25 parallel wrong guesses from one recognised browser reach the password check", async () => {
      const user = await createUser(db());
      const cookie = deviceCookieAfterSignIn(null, user.email, null);
      const results = await Promise.all(Array.from({ length: 25 }, () => signInFrom(db(), user.email, WRONG, { cookie })));
      expect(results.filter((r) => code(r) === "INVALID_CREDENTIALS")).toHaveLength(DEVICE_LIMIT.max);
      expect(results.filter((r) => code(r) === "RATE_LIMITED")).toHaveLength(25 - DEVICE_LIMIT.max);
    });
  }
});
