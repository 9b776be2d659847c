import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { sessions, users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox } from "@/test-support/mail-helpers";
import { addPasskey } from "@/test-support/passkey-users";
import { CHROME_ON_WINDOWS, uniqueIp } from "@/test-support/reset-helpers";
import { SoftwareAuthenticator } from "@/test-support/software-authenticator";
import { enrol } from "@/test-support/two-factor";
import { createUser } from "@/test-support/users";
import { completeSignIn } from "../auth/sign-in";
import { SECOND_FACTOR_LIMIT } from "./check";
import { beginPasskeySecondStep, startSignInChallenge } from "./sign-in-step";

installTestOutbox();
const NOTHING_LATER = () => {};
const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });

describeEachDatabase("a passkey as the second step of a sign-in", ({ handle, driver }) => {
  const db = () => handle().db;

  /** A pending sign-in of `user` (its password was right), as the password step leaves it. */
  async function pendingSignIn(user: { id: string }): Promise<string> {
    const [row] = await db().select({ v: users.credentialsVersion }).from(users).where(eq(users.id, user.id));
    return (await startSignInChallenge(db(), { userId: user.id, credentialsVersion: row!.v, ...context() })).token;
  }

  /** The assertion `authenticator` gives for the passkey request of the pending sign-in `token`. */
  async function assertionFor(token: string, authenticator: SoftwareAuthenticator, options: { userVerified?: boolean } = {}) {
    const request = await beginPasskeySecondStep(db(), token);
    if (!request) throw new Error("no pending sign-in");
    return authenticator.assert(request, options);
  }

  const sessionsOf = async (userId: string) =>
    (await db().select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, userId))).length;

  it("finishes a sign-in with the account's passkey instead of a code: a session that passed a second factor, and the pending step spent", async () => {
    const user = await createUser(db());
    const { authenticator } = await addPasskey(db(), user);
    const token = await pendingSignIn(user);
    const passkey = await assertionFor(token, authenticator);
    const result = await completeSignIn(db(), { token, passkey, ...context() }, NOTHING_LATER);
    expect(result).toMatchObject({ ok: true, method: "passkey" });
    const [row] = await db().select().from(sessions).where(eq(sessions.userId, user.id));
    expect(row!.secondFactorAt).not.toBeNull();
    expect(row!.passwordCheckedAt).not.toBeNull();
    expect(await completeSignIn(db(), { token, passkey, ...context() }, NOTHING_LATER)).toEqual({ ok: false, code: "CHALLENGE_EXPIRED" });
    expect(await beginPasskeySecondStep(db(), token)).toBeNull();
  });

  it("counts a refused passkey (another account's, or without user verification) against the code budget, as a wrong code", async () => {
    const user = await createUser(db());
    const { authenticator } = await addPasskey(db(), user);
    const other = await createUser(db());
    const { authenticator: theirs } = await addPasskey(db(), other);
    const token = await pendingSignIn(user);

    const attempts = [
      await assertionFor(token, theirs),
      await assertionFor(token, authenticator, { userVerified: false }),
      ...(await Promise.all(Array.from({ length: SECOND_FACTOR_LIMIT.max - 2 }, () => assertionFor(token, theirs)))),
    ];
    for (const passkey of attempts) {
      expect(await completeSignIn(db(), { token, passkey, ...context() }, NOTHING_LATER)).toEqual({ ok: false, code: "INVALID_CODE" });
    }
    // The budget is spent: the right passkey waits too.
    const right = await assertionFor(token, authenticator);
    expect(await completeSignIn(db(), { token, passkey: right, ...context() }, NOTHING_LATER)).toMatchObject({
      ok: false,
      code: "RATE_LIMITED",
    });
    expect(await sessionsOf(user.id)).toBe(0);
  });

  it("lets a passkey-only account finish with a recovery code (a passkey needs JavaScript) but not with an authentication code", async () => {
    const user = await createUser(db());
    const { recoveryCodes } = await addPasskey(db(), user);
    const token = await pendingSignIn(user);
    expect(await completeSignIn(db(), { token, otp: "123456", ...context() }, NOTHING_LATER)).toEqual({ ok: false, code: "INVALID_CODE" });
    expect(await completeSignIn(db(), { token, recoveryCode: recoveryCodes![0]!, ...context() }, NOTHING_LATER)).toMatchObject({
      ok: true,
      method: "recovery_code",
    });
  });

  // PGlite runs one query at a time: only PostgreSQL can show two completions overlapping.
  if (driver === "postgres") {
    it("completes one pending sign-in once when a passkey and a code arrive at the same moment: exactly one session", async () => {
      const user = await createUser(db());
      const { codes } = await enrol(db(), user);
      const { authenticator } = await addPasskey(db(), user);
      for (const code of codes.slice(0, 8)) {
        const token = await pendingSignIn(user);
        const passkey = await assertionFor(token, authenticator);
        const before = await sessionsOf(user.id);
        const results = await Promise.all([
          completeSignIn(db(), { token, passkey, ...context() }, NOTHING_LATER),
          completeSignIn(db(), { token, recoveryCode: code, ...context() }, NOTHING_LATER),
        ]);
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, code: "CHALLENGE_EXPIRED" }]);
        expect(await sessionsOf(user.id)).toBe(before + 1);
      }
    });
  }
});
