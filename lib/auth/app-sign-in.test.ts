// Sign-in over the JSON API (issue 20): the browser's answers, limits, second step and owner
// emails, ending in a bearer session.
import { and, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import { jobs, passwordResetTokens, sessions } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox } from "@/test-support/mail-helpers";
import { dumpAllTables, uniqueIp } from "@/test-support/reset-helpers";
import { enrol } from "@/test-support/two-factor";
import { createUser, uniqueEmail } from "@/test-support/users";
import { resetPassword } from "../recovery/reset";
import { totpCode } from "../second-factor/totp";
import { generateToken } from "../tokens";
import { completeAppSignIn, signInApp, type AppSignInResult } from "./app-sign-in";
import { authenticateRequest } from "./bearer";

const outbox = installTestOutbox();
const WRONG = "Wrong-Password-1";
const noSchedule = () => {};
const cli = (ip = uniqueIp()) => ({ ip, userAgent: "rekey-cli/1.0", clientName: "Rekey CLI" });
const code = (r: AppSignInResult) => (r.ok ? "OK" : r.code);
const bearer = (token: string) => new Headers({ authorization: `Bearer ${token}` });

async function newDeviceJobs(db: Database, email: string) {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.kind, "sign_in.new_device"), sql`${jobs.payload}->>'email' = ${email}`));
}

describeEachDatabase("signing an app in over the API", ({ handle }) => {
  const db = () => handle().db;

  it("answers a bearer token of an app session with the client's name, and a device token to keep", async () => {
    const user = await createUser(db());
    const result = await signInApp(db(), { email: user.email, password: user.password, ...cli() }, noSchedule);
    if (!result.ok) throw new Error(result.code);
    expect(result.user).toEqual({ id: user.id, email: user.email });
    expect(result.deviceToken).toMatch(/^d1\./);
    const auth = await authenticateRequest(db(), bearer(result.issued.accessToken));
    expect(auth).toMatchObject({ ok: true, session: { kind: "app", clientName: "Rekey CLI", userId: user.id } });
  });

  it("gives a wrong password, an unknown address and an unconfirmed account one answer", async () => {
    const user = await createUser(db());
    const unconfirmed = await createUser(db(), { confirmed: false });
    const answers = [
      await signInApp(db(), { email: user.email, password: WRONG, ...cli() }, noSchedule),
      await signInApp(db(), { email: uniqueEmail("nobody"), password: WRONG, ...cli() }, noSchedule),
      await signInApp(db(), { email: unconfirmed.email, password: unconfirmed.password, ...cli() }, noSchedule),
    ];
    expect(answers).toEqual([
      { ok: false, code: "INVALID_CREDENTIALS" },
      { ok: false, code: "INVALID_CREDENTIALS" },
      { ok: false, code: "INVALID_CREDENTIALS" },
    ]);
    expect(await db().select().from(sessions).where(eq(sessions.userId, unconfirmed.id))).toEqual([]);
  });

  it("applies the per-address limit across IPs, and an app that kept its device token may still sign in past it", async () => {
    outbox.configure({ SIGN_IN_FAILURES_PER_ACCOUNT_PER_HOUR: "3" });
    const user = await createUser(db());
    const first = await signInApp(db(), { email: user.email, password: user.password, ...cli() }, noSchedule);
    if (!first.ok) throw new Error(first.code);
    for (let i = 0; i < 3; i++) await signInApp(db(), { email: user.email, password: WRONG, ...cli() }, noSchedule);
    const stranger = await signInApp(db(), { email: user.email, password: user.password, ...cli() }, noSchedule);
    expect(stranger).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    if (stranger.ok || stranger.code !== "RATE_LIMITED") throw new Error("not limited");
    expect(stranger.retryAfterSeconds).toBeGreaterThan(0);
    const known = await signInApp(
      db(),
      { email: user.email, password: user.password, deviceToken: first.deviceToken, ...cli() },
      noSchedule,
    );
    expect(code(known)).toBe("OK");
  });

  it("emails the owner about a new app at most once a day per IP, and never about an app that kept its device token", async () => {
    const user = await createUser(db());
    const ip = uniqueIp();
    const first = await signInApp(db(), { email: user.email, password: user.password, ...cli(ip) }, noSchedule);
    if (!first.ok) throw new Error(first.code);
    for (let i = 0; i < 3; i++) await signInApp(db(), { email: user.email, password: user.password, ...cli(ip) }, noSchedule);
    expect(await newDeviceJobs(db(), user.email)).toHaveLength(1);
    await signInApp(db(), { email: user.email, password: user.password, deviceToken: first.deviceToken, ...cli() }, noSchedule);
    expect(await newDeviceJobs(db(), user.email)).toHaveLength(1);
    await signInApp(db(), { email: user.email, password: user.password, ...cli() }, noSchedule);
    expect(await newDeviceJobs(db(), user.email)).toHaveLength(2);
  });

  it("asks a two-factor account for its second step, whose challenge works once and spends the account's code budget", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    const step = await signInApp(db(), { email: user.email, password: user.password, ...cli() }, noSchedule);
    if (step.ok || step.code !== "SECOND_FACTOR_REQUIRED") throw new Error(`expected a second step, got ${code(step)}`);
    expect(await db().select().from(sessions).where(eq(sessions.userId, user.id))).toEqual([]);

    const challenge = step.challenge.token;
    const wrong = await completeAppSignIn(db(), { challenge, otp: "000000", ...cli() }, noSchedule);
    expect(wrong).toEqual({ ok: false, code: "INVALID_CODE" });
    const done = await completeAppSignIn(db(), { challenge, otp: totpCode(key), ...cli() }, noSchedule);
    if (!done.ok) throw new Error(done.code);
    const auth = await authenticateRequest(db(), bearer(done.issued.accessToken));
    expect(auth.ok && auth.session.secondFactorAt).toBeInstanceOf(Date);
    expect(auth).toMatchObject({ ok: true, session: { kind: "app", clientName: "Rekey CLI" } });

    const again = await completeAppSignIn(db(), { challenge, otp: totpCode(key, Date.now() + 30_000), ...cli() }, noSchedule);
    expect(again).toEqual({ ok: false, code: "CHALLENGE_EXPIRED" });

    // Neither the token nor the challenge is in any table (audit rows and jobs included): only their hashes.
    for (const [table, rows] of Object.entries(await dumpAllTables(db()))) {
      expect({ table, token: rows.includes(done.issued.accessToken), challenge: rows.includes(challenge) }).toEqual({
        table,
        token: false,
        challenge: false,
      });
    }

    // Wrong codes from the API count in the account's one budget: 5 per 15 minutes.
    const next = await signInApp(db(), { email: user.email, password: user.password, ...cli() }, noSchedule);
    if (next.ok || next.code !== "SECOND_FACTOR_REQUIRED") throw new Error("expected a second step");
    // One wrong code above, four here: the account's five per 15 minutes, then even the right one waits.
    for (let i = 0; i < 4; i++) {
      const guess = await completeAppSignIn(db(), { challenge: next.challenge.token, otp: "000000", ...cli() }, noSchedule);
      expect(guess).toEqual({ ok: false, code: "INVALID_CODE" });
    }
    const limited = await completeAppSignIn(db(), { challenge: next.challenge.token, otp: totpCode(key), ...cli() }, noSchedule);
    expect(limited).toMatchObject({ ok: false, code: "RATE_LIMITED" });
  });

  it("a challenge earned before a reset no longer signs in after it", async () => {
    const user = await createUser(db());
    const { key } = await enrol(db(), user);
    const step = await signInApp(db(), { email: user.email, password: user.password, ...cli() }, noSchedule);
    if (step.ok || step.code !== "SECOND_FACTOR_REQUIRED") throw new Error("expected a second step");
    const link = generateToken();
    await db()
      .insert(passwordResetTokens)
      .values({ userId: user.id, tokenHash: link.hash, expiresAt: new Date(Date.now() + 3_600_000) });
    const reset = await resetPassword(
      db(),
      { token: link.token, password: "Brand-New-Pass-42", otp: totpCode(key), ip: uniqueIp(), userAgent: "test" },
      noSchedule,
    );
    expect(reset.ok).toBe(true);
    const late = await completeAppSignIn(
      db(),
      { challenge: step.challenge.token, otp: totpCode(key, Date.now() + 30_000), ...cli() },
      noSchedule,
    );
    expect(late).toEqual({ ok: false, code: "CHALLENGE_EXPIRED" });
  });
});
