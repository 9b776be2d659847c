import { and, desc, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { auditEvents, sessions, users } from "@/db/schema";
import { newDeviceSignInSubject } from "@/emails/new-device-sign-in";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox } from "@/test-support/mail-helpers";
import { addPasskey } from "@/test-support/passkey-users";
import { CHROME_ON_WINDOWS, collectingSchedule, uniqueIp } from "@/test-support/reset-helpers";
import { SoftwareAuthenticator } from "@/test-support/software-authenticator";
import { createUser } from "@/test-support/users";
import { clientKey } from "../client-ip";
import type { Schedule } from "../jobs/definition";
import { consumeRateLimit } from "../rate-limit";
import { isIdentityConfirmed } from "./confirm-identity";
import { finishPasskeySignIn, startPasskeySignIn } from "./passkey-sign-in";
import { findSession } from "./sessions";
import { checkSignInPassword } from "./sign-in";
import { ipLimit } from "./sign-in-throttle";

const outbox = installTestOutbox();
const NOTHING_LATER = () => {};

describeEachDatabase("signing in with a passkey", ({ handle }) => {
  const db = () => handle().db;

  /** One whole passkey sign-in: the ceremony, `authenticator`'s answer, the finish. */
  async function signInWith(
    authenticator: SoftwareAuthenticator,
    options: { ip?: string; userVerified?: boolean; schedule?: Schedule } = {},
  ) {
    const context = { ip: options.ip ?? uniqueIp(), userAgent: CHROME_ON_WINDOWS };
    const started = await startPasskeySignIn(db(), context);
    if (!started.ok) throw new Error(started.code);
    const response = authenticator.assert(started.options, { userVerified: options.userVerified });
    const result = await finishPasskeySignIn(db(), { ceremony: started.ceremony, response, ...context }, options.schedule ?? NOTHING_LATER);
    return { result, response, ceremony: started.ceremony, context };
  }

  async function lastAudit(event: "user.signed_in" | "user.sign_in_failed", ip: string) {
    const [row] = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, event), eq(auditEvents.ip, ip)))
      .orderBy(desc(auditEvents.createdAt));
    return row;
  }

  it("signs in with a discoverable passkey: a session that passed a second factor but checked no password, audited, the owner told of the new device", async () => {
    const user = await createUser(db());
    const { authenticator } = await addPasskey(db(), user);
    const scheduled = collectingSchedule();
    const ip = uniqueIp();
    const { result } = await signInWith(authenticator, { ip, schedule: scheduled.schedule });
    if (!result.ok) throw new Error(result.code);

    const found = await findSession(db(), result.session.sessionToken);
    expect(found?.user.id).toBe(user.id);
    const [row] = await db().select().from(sessions).where(eq(sessions.id, found!.session.id));
    expect(row!.secondFactorAt).not.toBeNull();
    // No password was entered: "Confirm it's you" must still ask for it.
    expect(row!.passwordCheckedAt).toBeNull();
    expect(await isIdentityConfirmed(db(), { userId: user.id, sessionId: row!.id })).toBe(false);
    expect((await lastAudit("user.signed_in", ip))?.details).toEqual({ second_factor: true, method: "passkey" });
    expect(result.deviceCookie).toMatch(/^d1\./);
    await scheduled.runAll();
    expect(await outbox.to(user.email, newDeviceSignInSubject)).toHaveLength(1);
  });

  it("gives an unknown passkey exactly the answer a wrong signature gets, and audits both as failed sign-ins", async () => {
    const user = await createUser(db());
    const { authenticator } = await addPasskey(db(), user);

    const stranger = new SoftwareAuthenticator();
    stranger.userHandle = authenticator.userHandle;
    const unknown = await signInWith(stranger);

    // The known credential id, signed by another key: a bad signature.
    const forger = new SoftwareAuthenticator();
    Object.defineProperty(forger, "credentialId", { value: authenticator.credentialId });
    forger.userHandle = authenticator.userHandle;
    const badSignature = await signInWith(forger);

    expect(unknown.result).toEqual({ ok: false, code: "PASSKEY_REFUSED" });
    expect(badSignature.result).toEqual(unknown.result);
    for (const attempt of [unknown, badSignature]) {
      expect((await lastAudit("user.sign_in_failed", attempt.context.ip!))?.details).toMatchObject({ method: "passkey" });
    }
  });

  it("refuses a replayed assertion: the challenge works once", async () => {
    const user = await createUser(db());
    const { authenticator } = await addPasskey(db(), user);
    const first = await signInWith(authenticator);
    expect(first.result.ok).toBe(true);
    const again = await finishPasskeySignIn(db(), { ceremony: first.ceremony, response: first.response, ...first.context }, NOTHING_LATER);
    expect(again).toEqual({ ok: false, code: "PASSKEY_REFUSED" });
  });

  it("refuses an assertion bound to another browser's ceremony", async () => {
    const user = await createUser(db());
    const { authenticator } = await addPasskey(db(), user);
    const context = { ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS };
    const theirs = await startPasskeySignIn(db(), context);
    const mine = await startPasskeySignIn(db(), context);
    if (!theirs.ok || !mine.ok) throw new Error("not started");
    const response = authenticator.assert(theirs.options);
    expect(await finishPasskeySignIn(db(), { ceremony: mine.ceremony, response, ...context }, NOTHING_LATER)).toEqual({
      ok: false,
      code: "PASSKEY_REFUSED",
    });
  });

  it("refuses a passkey whose authenticator did not verify the user", async () => {
    const user = await createUser(db());
    const { authenticator } = await addPasskey(db(), user);
    const { result } = await signInWith(authenticator, { userVerified: false });
    expect(result).toEqual({ ok: false, code: "PASSKEY_REFUSED" });
  });

  it("refuses an account pending deletion or not confirmed, as it refuses an unknown passkey", async () => {
    const deleted = await createUser(db());
    const deletedKey = (await addPasskey(db(), deleted)).authenticator;
    await db()
      .update(users)
      .set({ deletionRequestedAt: sql`now()` })
      .where(eq(users.id, deleted.id));
    expect((await signInWith(deletedKey)).result).toEqual({ ok: false, code: "PASSKEY_REFUSED" });

    const unconfirmed = await createUser(db(), { confirmed: false });
    const unconfirmedKey = (await addPasskey(db(), unconfirmed)).authenticator;
    expect((await signInWith(unconfirmedKey)).result).toEqual({ ok: false, code: "PASSKEY_REFUSED" });
  });

  it("keeps to the per-IP sign-in limit: past it no ceremony starts and none finishes, the right passkey neither", async () => {
    const user = await createUser(db());
    const { authenticator } = await addPasskey(db(), user);
    const ip = uniqueIp();
    const context = { ip, userAgent: CHROME_ON_WINDOWS };
    const started = await startPasskeySignIn(db(), context);
    if (!started.ok) throw new Error(started.code);
    for (let i = 0; i < ipLimit().max; i++) await consumeRateLimit(db(), ipLimit(), clientKey(ip));
    expect(await startPasskeySignIn(db(), context)).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    const response = authenticator.assert(started.options);
    expect(await finishPasskeySignIn(db(), { ceremony: started.ceremony, response, ...context }, NOTHING_LATER)).toMatchObject({
      ok: false,
      code: "RATE_LIMITED",
    });
  });

  it("sends a password sign-in of an account with a passkey to the second step", async () => {
    const user = await createUser(db());
    await addPasskey(db(), user);
    const result = await checkSignInPassword(db(), {
      email: user.email,
      password: user.password,
      ip: uniqueIp(),
      userAgent: CHROME_ON_WINDOWS,
    });
    expect(result).toMatchObject({ ok: false, code: "SECOND_FACTOR_REQUIRED", secondFactors: { totp: false, passkey: true } });
  });
});
