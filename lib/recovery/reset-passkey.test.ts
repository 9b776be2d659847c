import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { sessions } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox, tokenIn } from "@/test-support/mail-helpers";
import { addPasskey } from "@/test-support/passkey-users";
import { CHROME_ON_WINDOWS, RESET_LINK, uniqueIp } from "@/test-support/reset-helpers";
import { insertSession } from "@/test-support/sessions";
import { SoftwareAuthenticator } from "@/test-support/software-authenticator";
import { createUser } from "@/test-support/users";
import { verifyCredentials } from "../auth/credentials";
import { issueResetLink } from "./deliver";
import { beginPasskeyReset, inspectResetToken, RESET_LINK_ATTEMPTS, resetPassword } from "./reset";

const outbox = installTestOutbox();
const NEW_PASSWORD = "Brand-New-Pass-72";
const NOTHING_LATER = () => {};
const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });

describeEachDatabase("password reset of an account with a passkey", ({ handle }) => {
  const db = () => handle().db;

  async function userWithPasskeyAndLink() {
    const user = await createUser(db());
    const { authenticator, recoveryCodes } = await addPasskey(db(), user);
    const before = new Set((await outbox.to(user.email)).map((m) => m.text));
    await issueResetLink(db(), user, { ip: null, userAgent: null });
    const fresh = (await outbox.to(user.email)).find((m) => !before.has(m.text) && RESET_LINK.test(m.text));
    return { user, authenticator, recoveryCodes: recoveryCodes!, token: tokenIn(fresh, RESET_LINK) };
  }

  /** The assertion `authenticator` gives for the passkey request of the reset link `token`. */
  async function assertionFor(token: string, authenticator: SoftwareAuthenticator) {
    const request = await beginPasskeyReset(db(), token);
    if (!request) throw new Error("no passkey request for this link");
    return authenticator.assert(request);
  }

  it("says the link asks for a second factor, and that the account has a passkey", async () => {
    const { token } = await userWithPasskeyAndLink();
    expect(await inspectResetToken(db(), token)).toMatchObject({
      status: "valid",
      secondFactorRequired: true,
      secondFactors: { totp: false, passkey: true },
    });
  });

  it("needs the passkey (or a recovery code): the link alone changes nothing; with the passkey the password changes and every session ends", async () => {
    const { user, authenticator, token } = await userWithPasskeyAndLink();
    const session = await insertSession(db(), { userId: user.id, userAgent: null, ip: "192.0.2.30" });
    expect(await resetPassword(db(), { token, password: NEW_PASSWORD, ...context() }, NOTHING_LATER)).toEqual({
      ok: false,
      code: "SECOND_FACTOR_REQUIRED",
    });
    expect((await verifyCredentials(db(), user.email, user.password)).ok).toBe(true);

    const passkey = await assertionFor(token, authenticator);
    expect(await resetPassword(db(), { token, password: NEW_PASSWORD, passkey, ...context() }, NOTHING_LATER)).toEqual({ ok: true });
    expect((await verifyCredentials(db(), user.email, NEW_PASSWORD)).ok).toBe(true);
    expect(await db().select().from(sessions).where(eq(sessions.id, session.id))).toEqual([]);
  });

  it("takes a recovery code instead of the passkey", async () => {
    const { user, recoveryCodes, token } = await userWithPasskeyAndLink();
    expect(
      await resetPassword(db(), { token, password: NEW_PASSWORD, recoveryCode: recoveryCodes[0]!, ...context() }, NOTHING_LATER),
    ).toEqual({
      ok: true,
    });
    expect((await verifyCredentials(db(), user.email, NEW_PASSWORD)).ok).toBe(true);
  });

  it("refuses another account's passkey as a wrong code: each refusal one of the link's five attempts, then the link is spent", async () => {
    const { user, token } = await userWithPasskeyAndLink();
    const { authenticator: theirs } = await addPasskey(db(), await createUser(db()));
    for (let attempt = 1; attempt < RESET_LINK_ATTEMPTS; attempt++) {
      const passkey = await assertionFor(token, theirs);
      expect(await resetPassword(db(), { token, password: NEW_PASSWORD, passkey, ...context() }, NOTHING_LATER)).toEqual({
        ok: false,
        code: "INVALID_CODE",
      });
    }
    const last = await assertionFor(token, theirs);
    expect(await resetPassword(db(), { token, password: NEW_PASSWORD, passkey: last, ...context() }, NOTHING_LATER)).toEqual({
      ok: false,
      code: "TOO_MANY_ATTEMPTS",
    });
    // Spent: no passkey request for it any more, and the password is unchanged.
    expect(await beginPasskeyReset(db(), token)).toBeNull();
    expect((await verifyCredentials(db(), user.email, user.password)).ok).toBe(true);
  });
});
