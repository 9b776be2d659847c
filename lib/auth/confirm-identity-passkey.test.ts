import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { sessions } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox } from "@/test-support/mail-helpers";
import { addPasskey } from "@/test-support/passkey-users";
import { CHROME_ON_WINDOWS, uniqueIp } from "@/test-support/reset-helpers";
import { insertSession } from "@/test-support/sessions";
import { SoftwareAuthenticator } from "@/test-support/software-authenticator";
import { createUser } from "@/test-support/users";
import { beginPasskeyAuthentication, beginPasskeyRegistration, finishPasskeyRegistration } from "../second-factor/passkey-ceremony";
import { confirmIdentity, isIdentityConfirmed } from "./confirm-identity";

installTestOutbox();
const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });
const NOTHING_LATER = () => {};

describeEachDatabase("Confirm it's you with a passkey", ({ handle }) => {
  const db = () => handle().db;

  it("asks a passkey-only account for its second factor, and takes the password with its passkey, bound to this session", async () => {
    const user = await createUser(db());
    const { authenticator } = await addPasskey(db(), user);
    const session = await insertSession(db(), { userId: user.id, userAgent: null, ip: null });
    // Signed in before the passkey was added, this session passed no second factor.
    await db().update(sessions).set({ secondFactorAt: null }).where(eq(sessions.id, session.id));
    const who = { userId: user.id, sessionId: session.id };
    expect(await isIdentityConfirmed(db(), who)).toBe(false);

    expect(await confirmIdentity(db(), { ...who, password: user.password, ...context() }, NOTHING_LATER)).toEqual({
      ok: false,
      code: "SECOND_FACTOR_REQUIRED",
    });

    // A ceremony bound to another session does not confirm this one.
    const elsewhere = await beginPasskeyAuthentication(db(), { purpose: "confirm", userId: user.id, binding: "another-session-token" });
    const misbound = { response: authenticator.assert(elsewhere), binding: session.sessionToken };
    expect(await confirmIdentity(db(), { ...who, password: user.password, passkey: misbound, ...context() }, NOTHING_LATER)).toEqual({
      ok: false,
      code: "INVALID_CODE",
    });

    const request = await beginPasskeyAuthentication(db(), { purpose: "confirm", userId: user.id, binding: session.sessionToken });
    const passkey = { response: authenticator.assert(request), binding: session.sessionToken };
    expect(await confirmIdentity(db(), { ...who, password: user.password, passkey, ...context() }, NOTHING_LATER)).toEqual({
      ok: true,
      method: "passkey",
    });
    expect(await isIdentityConfirmed(db(), who)).toBe(true);
  });

  it("keeps the session that added the first passkey confirmed (it just used the new factor), and no other password-only session", async () => {
    const user = await createUser(db());
    const adding = await insertSession(db(), { userId: user.id, userAgent: null, ip: null });
    const other = await insertSession(db(), { userId: user.id, userAgent: null, ip: null });
    const options = await beginPasskeyRegistration(db(), { userId: user.id, email: user.email, binding: adding.sessionToken });
    const added = await finishPasskeyRegistration(db(), NOTHING_LATER, {
      userId: user.id,
      binding: adding.sessionToken,
      response: new SoftwareAuthenticator().register(options),
      name: "Laptop",
      ...context(),
    });
    expect(added.ok).toBe(true);
    expect(await isIdentityConfirmed(db(), { userId: user.id, sessionId: adding.id })).toBe(true);
    expect(await isIdentityConfirmed(db(), { userId: user.id, sessionId: other.id })).toBe(false);
  });

  it("does not take a passkey in place of the password", async () => {
    const user = await createUser(db());
    const { authenticator } = await addPasskey(db(), user);
    const session = await insertSession(db(), { userId: user.id, userAgent: null, ip: null });
    const request = await beginPasskeyAuthentication(db(), { purpose: "confirm", userId: user.id, binding: session.sessionToken });
    const passkey = { response: authenticator.assert(request), binding: session.sessionToken };
    expect(
      await confirmIdentity(
        db(),
        { userId: user.id, sessionId: session.id, password: "Not-The-Password-1", passkey, ...context() },
        NOTHING_LATER,
      ),
    ).toEqual({ ok: false, code: "WRONG_PASSWORD" });
  });
});
