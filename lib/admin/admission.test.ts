import { eq, sql } from "drizzle-orm";
import { afterEach, expect, it } from "vitest";
import { users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { addPasskey } from "@/test-support/passkey-users";
import { CHROME_ON_WINDOWS, uniqueIp } from "@/test-support/reset-helpers";
import { insertSession } from "@/test-support/sessions";
import { createUser, uniqueEmail } from "@/test-support/users";
import { overrideEnvForTests, parseEnv } from "../env";
import { finishPasskeySignIn, startPasskeySignIn } from "../auth/passkey-sign-in";
import { findSession } from "../auth/sessions";
import { admitAdmin } from "./admission";

it("reads ADMIN_REQUIRE_TWO_FACTOR as on unless set to false or 0, and refuses anything else", () => {
  expect(parseEnv({}).ADMIN_REQUIRE_TWO_FACTOR).toBe(true);
  expect(parseEnv({ ADMIN_REQUIRE_TWO_FACTOR: "" }).ADMIN_REQUIRE_TWO_FACTOR).toBe(true);
  expect(parseEnv({ ADMIN_REQUIRE_TWO_FACTOR: "false" }).ADMIN_REQUIRE_TWO_FACTOR).toBe(false);
  expect(parseEnv({ ADMIN_REQUIRE_TWO_FACTOR: "0" }).ADMIN_REQUIRE_TWO_FACTOR).toBe(false);
  expect(() => parseEnv({ ADMIN_REQUIRE_TWO_FACTOR: "off" })).toThrow(/ADMIN_REQUIRE_TWO_FACTOR/);
});

describeEachDatabase("the admin gate's second-factor rule", ({ handle }) => {
  const db = () => handle().db;

  afterEach(() => {
    overrideEnvForTests({ ADMIN_EMAILS: undefined, ADMIN_REQUIRE_TWO_FACTOR: undefined });
  });

  /** A user with a session; an admin (named in ADMIN_EMAILS) unless `admin` is false. */
  async function signedIn(options: { admin?: boolean; secondFactor?: boolean; confirmed?: boolean; requireTwoFactor?: string } = {}) {
    const email = uniqueEmail(options.admin === false ? "outsider" : "admin");
    if (options.admin !== false) overrideEnvForTests({ ADMIN_EMAILS: email, ADMIN_REQUIRE_TWO_FACTOR: options.requireTwoFactor });
    const user = await createUser(db(), { email, confirmed: options.confirmed });
    const session = await insertSession(db(), { userId: user.id, userAgent: null, ip: null, secondFactor: options.secondFactor });
    return { user, session: { userId: user.id, email, confirmed: options.confirmed !== false, sessionId: session.id } };
  }

  it("admits an admin only on a session that passed a second factor", async () => {
    const { user, session } = await signedIn({ secondFactor: true });
    expect(await admitAdmin(db(), session)).toEqual({
      status: "admitted",
      admin: { userId: user.id, email: user.email, sessionId: session.sessionId },
    });
    const passwordOnly = { ...session, sessionId: (await insertSession(db(), { userId: user.id, userAgent: null, ip: null })).id };
    expect(await admitAdmin(db(), passwordOnly)).toEqual({ status: "needs_two_factor", twoFactorOn: false });
  });

  it("tells an admin on a password-only session whether two-factor is already on (then signing in again is enough)", async () => {
    const { user, session } = await signedIn();
    await db()
      .update(users)
      .set({ twoFactorEnabledAt: sql`now()` })
      .where(eq(users.id, user.id));
    expect(await admitAdmin(db(), session)).toEqual({ status: "needs_two_factor", twoFactorOn: true });
  });

  it("admits an admin signed in with a passkey alone, and counts a passkey as a second factor the account has", async () => {
    const { user, session } = await signedIn();
    const { authenticator } = await addPasskey(db(), user);
    // The password-only session from before the passkey: signing in again (with the passkey) is enough.
    expect(await admitAdmin(db(), session)).toEqual({ status: "needs_two_factor", twoFactorOn: true });
    const context = { ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS };
    const started = await startPasskeySignIn(db(), context);
    if (!started.ok) throw new Error(started.code);
    const response = authenticator.assert(started.options);
    const signedInWithPasskey = await finishPasskeySignIn(db(), { ceremony: started.ceremony, response, ...context }, () => {});
    if (!signedInWithPasskey.ok) throw new Error(signedInWithPasskey.code);
    const found = await findSession(db(), signedInWithPasskey.session.sessionToken);
    expect(await admitAdmin(db(), { ...session, sessionId: found!.session.id })).toMatchObject({ status: "admitted" });
  });

  it("answers 'not an admin' to a non-admin, an unconfirmed admin address, a signed-out request and an ended session", async () => {
    const outsider = await signedIn({ admin: false, secondFactor: true });
    expect(await admitAdmin(db(), outsider.session)).toEqual({ status: "not_admin" });
    const unconfirmed = await signedIn({ secondFactor: true, confirmed: false });
    expect(await admitAdmin(db(), unconfirmed.session)).toEqual({ status: "not_admin" });
    expect(await admitAdmin(db(), null)).toEqual({ status: "not_admin" });
    const ended = await signedIn({ secondFactor: true });
    expect(await admitAdmin(db(), { ...ended.session, sessionId: "00000000-0000-4000-8000-000000000000" })).toEqual({
      status: "not_admin",
    });
  });

  it("admits a password-only admin session when ADMIN_REQUIRE_TWO_FACTOR is false", async () => {
    const { session } = await signedIn({ requireTwoFactor: "false" });
    expect(await admitAdmin(db(), session)).toMatchObject({ status: "admitted" });
  });
});
