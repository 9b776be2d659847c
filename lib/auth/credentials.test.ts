import { hash, parseOptions } from "@node-rs/argon2";
import { expect, it } from "vitest";
import { describeEachDatabase } from "@/test-support/databases";
import { createUser, storedPasswordHash } from "@/test-support/users";
import { hashPassword, verifyPassword } from "../password-hashing";
import { verifyCredentials } from "./credentials";

const PASSWORD = "Tangerine-Quokka-42";
const ARGON2ID = 2;
const INVALID = { ok: false, code: "INVALID_CREDENTIALS" };

function weakHash(password: string): Promise<string> {
  return hash(password, { memoryCost: 4096, timeCost: 1, algorithm: ARGON2ID });
}

describeEachDatabase("verifyCredentials", ({ handle }) => {
  it("signs in with the right password and returns the user without the hash", async () => {
    const { db } = handle();
    const user = await createUser(db, { name: "Ada", passwordHash: await hashPassword(PASSWORD) });
    expect(await verifyCredentials(db, user.email, PASSWORD)).toEqual({
      ok: true,
      user: {
        id: user.id,
        email: user.email,
        name: "Ada",
        credentialsVersion: 1,
        twoFactor: false,
        secondFactors: { totp: false, passkey: false },
      },
    });
  });

  it("refuses a wrong password with INVALID_CREDENTIALS", async () => {
    const { db } = handle();
    const user = await createUser(db, { passwordHash: await hashPassword(PASSWORD) });
    expect(await verifyCredentials(db, user.email, `${PASSWORD}x`)).toEqual(INVALID);
  });

  it("refuses an unknown email with the same result as a wrong password", async () => {
    const { db } = handle();
    const user = await createUser(db, { passwordHash: await hashPassword(PASSWORD) });
    const wrongPassword = await verifyCredentials(db, user.email, "Wrong-Password-1");
    const unknownEmail = await verifyCredentials(db, "nobody-here@example.com", PASSWORD);
    expect(unknownEmail).toEqual(INVALID);
    expect(unknownEmail).toStrictEqual(wrongPassword);
  });

  it("refuses the right password of an unconfirmed account with the wrong-password result", async () => {
    const { db } = handle();
    const user = await createUser(db, { passwordHash: await hashPassword(PASSWORD), confirmed: false });
    const rightPassword = await verifyCredentials(db, user.email, PASSWORD);
    const wrongPassword = await verifyCredentials(db, user.email, "Wrong-Password-1");
    expect(rightPassword).toEqual(INVALID);
    expect(rightPassword).toStrictEqual(wrongPassword);
  });

  it("does no more work for an unconfirmed account's right password than for a wrong one: no re-hash", async () => {
    const { db } = handle();
    const before = await weakHash(PASSWORD);
    const user = await createUser(db, { passwordHash: before, confirmed: false });

    expect(await verifyCredentials(db, user.email, PASSWORD)).toEqual(INVALID);
    expect(await storedPasswordHash(db, user.id)).toBe(before);
  });

  it("refuses an account that has no password", async () => {
    const { db } = handle();
    const user = await createUser(db, { passwordHash: null });
    expect(await verifyCredentials(db, user.email, PASSWORD)).toEqual(INVALID);
  });

  it("replaces a hash made with weaker parameters on a successful sign-in", async () => {
    const { db } = handle();
    const before = await weakHash(PASSWORD);
    const user = await createUser(db, { passwordHash: before });

    expect((await verifyCredentials(db, user.email, PASSWORD)).ok).toBe(true);

    const after = await storedPasswordHash(db, user.id);
    expect(after).not.toBeNull();
    expect(after).not.toBe(before);
    expect(parseOptions(after!)).toMatchObject({ algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    expect(after).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(after!, PASSWORD)).toBe(true);
    expect((await verifyCredentials(db, user.email, PASSWORD)).ok).toBe(true);
  });

  it("keeps a weaker hash when the sign-in fails", async () => {
    const { db } = handle();
    const before = await weakHash(PASSWORD);
    const user = await createUser(db, { passwordHash: before });

    expect(await verifyCredentials(db, user.email, "Wrong-Password-1")).toEqual(INVALID);
    expect(await storedPasswordHash(db, user.id)).toBe(before);
  });

  it("keeps a current hash unchanged on a successful sign-in", async () => {
    const { db } = handle();
    const before = await hashPassword(PASSWORD);
    const user = await createUser(db, { passwordHash: before });

    expect((await verifyCredentials(db, user.email, PASSWORD)).ok).toBe(true);
    expect(await storedPasswordHash(db, user.id)).toBe(before);
  });
});
