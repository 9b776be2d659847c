// Wrong second-factor codes (issue 21): a recognised browser spends its own budget, everyone
// else the account's shared one, so a guesser who knows the password and keeps the shared
// budget spent never blocks the owner's right code; crossing a budget emails the owner.
import { and, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import { jobs } from "@/db/schema";
import { deviceCookieAfterSignIn } from "@/lib/auth/device-token";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, collectingSchedule, uniqueIp } from "@/test-support/reset-helpers";
import { createUser } from "@/test-support/users";
import { enrol } from "@/test-support/two-factor";
import type { Schedule } from "../jobs/definition";
import { DEVICE_SECOND_FACTOR_LIMIT, SECOND_FACTOR_LIMIT } from "./check";
import { passSignInChallenge, startSignInChallenge } from "./sign-in-step";
import { totpCode } from "./totp";

const outbox = installTestOutbox();
const CODES_SUBJECT = "Repeated wrong two-factor codes on your Rekey account";
const NOTHING_LATER: Schedule = () => {};

/** A second step from a browser carrying `cookie`, for a fresh pending sign-in of `user`. */
async function codeFrom(db: Database, user: { id: string }, otp: string, cookie: string | null = null, schedule = NOTHING_LATER) {
  const context = { ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS };
  const challenge = await startSignInChallenge(db, { userId: user.id, credentialsVersion: 1, ...context });
  const result = await passSignInChallenge(db, { token: challenge.token, otp, deviceCookie: cookie, ...context }, schedule);
  return result.ok ? "OK" : result.code;
}

const repeatedFailureJobs = (db: Database, email: string) =>
  db
    .select()
    .from(jobs)
    .where(and(eq(jobs.kind, "sign_in.repeated_failures"), sql`${jobs.payload}->>'email' = ${email}`));

describeEachDatabase("second-factor budgets per device", ({ handle, driver }) => {
  const db = () => handle().db;

  it("lets the owner's recognised browser pass with the right code while a guesser keeps the account's shared budget spent", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    const owner = deviceCookieAfterSignIn(null, user.email, null);
    for (let i = 0; i < SECOND_FACTOR_LIMIT.max; i++) expect(await codeFrom(db(), user, "000000")).toBe("INVALID_CODE");
    expect(await codeFrom(db(), user, totpCode(key))).toBe("RATE_LIMITED");
    // Another account's token, or a forged one, is no device: the shared budget, spent.
    const foreign = deviceCookieAfterSignIn(null, "someone-else@example.com", null);
    expect(await codeFrom(db(), user, totpCode(key), foreign)).toBe("RATE_LIMITED");
    expect(await codeFrom(db(), user, totpCode(key), owner)).toBe("OK");
  });

  it("limits a recognised browser's own wrong codes to 5 per 15 minutes without spending the shared budget", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    const owner = deviceCookieAfterSignIn(null, user.email, null);
    for (let i = 0; i < DEVICE_SECOND_FACTOR_LIMIT.max; i++) expect(await codeFrom(db(), user, "000000", owner)).toBe("INVALID_CODE");
    expect(await codeFrom(db(), user, totpCode(key), owner)).toBe("RATE_LIMITED");
    expect(await codeFrom(db(), user, totpCode(key))).toBe("OK");
  });

  it("emails the owner about repeated wrong codes at most once an hour, whichever budget was crossed", async () => {
    const user = await createUser(db());
    await enrol(db(), user);
    const owner = deviceCookieAfterSignIn(null, user.email, null);
    const { schedule, runAll } = collectingSchedule();
    for (let i = 0; i < 8; i++) await codeFrom(db(), user, "000000", null, schedule);
    for (let i = 0; i < 8; i++) await codeFrom(db(), user, "000000", owner, schedule);
    expect(await repeatedFailureJobs(db(), user.email)).toHaveLength(1);
    await runAll();
    const sent = await outbox.to(user.email, CODES_SUBJECT);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.text).toMatch(/They\s+know\s+your\s+password/);
  });

  // PGlite runs one query at a time: a race can only show on PostgreSQL.
  if (driver === "postgres")
    it("checks at most 5 of 30 parallel wrong codes from one recognised browser, leaves the shared budget whole and writes one owner email", async () => {
      const user = await createUser(db());
      const { key } = await enrol(db(), user);
      const owner = deviceCookieAfterSignIn(null, user.email, null);
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => codeFrom(db(), user, String(100000 + i), owner)));
      expect(results.filter((r) => r === "INVALID_CODE")).toHaveLength(DEVICE_SECOND_FACTOR_LIMIT.max);
      expect(results.filter((r) => r === "RATE_LIMITED")).toHaveLength(30 - DEVICE_SECOND_FACTOR_LIMIT.max);
      expect(await repeatedFailureJobs(db(), user.email)).toHaveLength(1);
      expect(await codeFrom(db(), user, totpCode(key))).toBe("OK");
    });
});
