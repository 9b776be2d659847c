import os from "node:os";
import { hash, parseOptions } from "@node-rs/argon2";
import { afterEach, describe, expect, it } from "vitest";
import { overrideEnvForTests } from "./env";
import { argon2QueueFull } from "./argon2-slots";
import {
  argon2Load,
  hashNewPassword,
  hashPassword,
  needsRehash,
  passwordHashParameters,
  passwordPolicyErrors,
  verifyPassword,
  withArgon2Slot,
} from "./password-hashing";
import { isCommonPassword } from "./validation/common-passwords";
import { COMMON_PASSWORD_MESSAGE } from "./validation/password-policy";

const STRONG = "Tangerine-Quokka-42";
// On @zxcvbn-ts/language-common's passwords-common list as "p@ssw0rd", and it meets every
// character rule, so the list is the only thing that can reject it.
const COMMON_BUT_COMPLEX = "P@ssw0rd";
const ARGON2I = 1;
const ARGON2ID = 2;

afterEach(() => {
  overrideEnvForTests({});
});

describe("passwordPolicyErrors", () => {
  it("rejects a common password that meets every character rule with only the common-password message", async () => {
    expect(await passwordPolicyErrors(COMMON_BUT_COMPLEX)).toEqual([COMMON_PASSWORD_MESSAGE]);
  });

  it("matches the common-passwords list regardless of case", async () => {
    expect(await isCommonPassword("p@ssw0rd")).toBe(true);
    expect(await isCommonPassword("P@SSW0RD")).toBe(true);
    expect(await isCommonPassword(STRONG)).toBe(false);
  });

  it("reports broken character rules and the common-password rule together", async () => {
    expect(await passwordPolicyErrors("password")).toEqual([
      "Add an upper-case letter.",
      "Add a digit.",
      "Add a special character, like ! ? # or %.",
      COMMON_PASSWORD_MESSAGE,
    ]);
  });

  it("accepts a strong password", async () => {
    expect(await passwordPolicyErrors(STRONG)).toEqual([]);
  });
});

describe("hashPassword and verifyPassword", () => {
  it("produces an argon2id PHC string with m=19456, t=2, p=1", async () => {
    const passwordHash = await hashPassword(STRONG);
    expect(passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(passwordHash).not.toContain(STRONG);
  });

  it("salts every hash", async () => {
    expect(await hashPassword(STRONG)).not.toBe(await hashPassword(STRONG));
  });

  it("verifies the right password and refuses a wrong one", async () => {
    const passwordHash = await hashPassword(STRONG);
    expect(await verifyPassword(passwordHash, STRONG)).toBe(true);
    expect(await verifyPassword(passwordHash, `${STRONG}!`)).toBe(false);
    expect(await verifyPassword(passwordHash, STRONG.toLowerCase())).toBe(false);
  });

  it("returns false, without throwing, for a malformed hash", async () => {
    for (const malformed of ["", "not-a-hash", "$argon2id$v=19$m=19456,t=2,p=1$short", "$2b$10$abcdefghijklmnopqrstuu"]) {
      await expect(verifyPassword(malformed, STRONG)).resolves.toBe(false);
    }
  });

  it("hashes with the configured parameters", async () => {
    overrideEnvForTests({ ARGON2_MEMORY_KIB: "20480", ARGON2_ITERATIONS: "3" });
    expect(passwordHashParameters()).toEqual({ memoryCost: 20_480, timeCost: 3, parallelism: 1 });
    const options = parseOptions(await hashPassword(STRONG));
    expect(options).toMatchObject({ memoryCost: 20_480, timeCost: 3, parallelism: 1, algorithm: ARGON2ID });
  });
});

describe("needsRehash", () => {
  it("is true for a hash made with weaker parameters", async () => {
    const weak = await hash(STRONG, { memoryCost: 4096, timeCost: 1, algorithm: ARGON2ID });
    expect(needsRehash(weak)).toBe(true);
  });

  it("is true for a hash with only fewer iterations", async () => {
    const weak = await hash(STRONG, { memoryCost: 19_456, timeCost: 1, parallelism: 1, algorithm: ARGON2ID });
    expect(needsRehash(weak)).toBe(true);
  });

  it("is true for an argon2i hash with the current parameters", async () => {
    const other = await hash(STRONG, { memoryCost: 19_456, timeCost: 2, parallelism: 1, algorithm: ARGON2I });
    expect(needsRehash(other)).toBe(true);
  });

  it("is false for a hash made with the current parameters", async () => {
    expect(needsRehash(await hashPassword(STRONG))).toBe(false);
  });

  it("is false for a hash stronger than the current parameters", async () => {
    const stronger = await hash(STRONG, { memoryCost: 32_768, timeCost: 3, parallelism: 1, algorithm: ARGON2ID });
    expect(needsRehash(stronger)).toBe(false);
  });

  it("is true for a current-default hash once the configured memory is raised", async () => {
    const current = await hashPassword(STRONG);
    overrideEnvForTests({ ARGON2_MEMORY_KIB: "32768" });
    expect(needsRehash(current)).toBe(true);
  });

  it("is true for a malformed hash", () => {
    expect(needsRehash("not-a-hash")).toBe(true);
  });
});

describe("argon2 concurrency bound", () => {
  it("runs no more argon2 work at once than ARGON2_MAX_CONCURRENT and queues the rest", async () => {
    overrideEnvForTests({ ARGON2_MAX_CONCURRENT: "2" });
    const runs = Array.from({ length: 5 }, (_, i) => hashPassword(`${STRONG}-${i}`));
    expect(argon2Load()).toEqual({ running: 2, waiting: 3 });
    const hashes = await Promise.all(runs);
    expect(new Set(hashes).size).toBe(5);
    expect(argon2Load()).toEqual({ running: 0, waiting: 0 });
  });

  it("says the queue is full once ARGON2_MAX_QUEUE runs wait, and no longer once they have run", async () => {
    overrideEnvForTests({ ARGON2_MAX_CONCURRENT: "1", ARGON2_MAX_QUEUE: "2" });
    expect(argon2QueueFull()).toBe(false);
    const stored = await hash(STRONG);
    const first = [verifyPassword(stored, STRONG), verifyPassword(stored, STRONG)];
    expect(argon2Load()).toEqual({ running: 1, waiting: 1 });
    expect(argon2QueueFull()).toBe(false);
    const third = verifyPassword(stored, STRONG);
    expect(argon2Load()).toEqual({ running: 1, waiting: 2 });
    expect(argon2QueueFull()).toBe(true);
    expect(await Promise.all([...first, third])).toEqual([true, true, true]);
    expect(argon2QueueFull()).toBe(false);
  });

  it("with ARGON2_MAX_QUEUE=0, turns sign-ins away exactly when one would have to wait", async () => {
    overrideEnvForTests({ ARGON2_MAX_CONCURRENT: "1", ARGON2_MAX_QUEUE: "0" });
    expect(argon2QueueFull()).toBe(false);
    const running = verifyPassword(await hash(STRONG), STRONG);
    expect(argon2QueueFull()).toBe(true);
    expect(await running).toBe(true);
    expect(argon2QueueFull()).toBe(false);
  });

  it("frees the slot when the work throws, so the queue keeps moving", async () => {
    overrideEnvForTests({ ARGON2_MAX_CONCURRENT: "1" });
    const stored = await hash(STRONG);
    const failing = expect(withArgon2Slot(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    const next = verifyPassword(stored, STRONG);
    expect(argon2Load()).toEqual({ running: 1, waiting: 1 });
    await failing;
    expect(await next).toBe(true);
    expect(argon2Load()).toEqual({ running: 0, waiting: 0 });
  });

  it("defaults to one slot fewer than the cores, at least one", () => {
    const config = overrideEnvForTests({ ARGON2_MAX_CONCURRENT: undefined });
    expect(config.ARGON2_MAX_CONCURRENT).toBe(Math.max(1, os.availableParallelism() - 1));
  });
});

describe("hashNewPassword", () => {
  it("hashes the new password and says whether it equals the current one", async () => {
    const current = await hashPassword(STRONG);
    const same = await hashNewPassword(current, STRONG);
    const other = await hashNewPassword(current, `${STRONG}-new`);
    expect(same.sameAsCurrent).toBe(true);
    expect(other.sameAsCurrent).toBe(false);
    expect(await verifyPassword(other.hash, `${STRONG}-new`)).toBe(true);
    expect((await hashNewPassword(null, STRONG)).sameAsCurrent).toBe(false);
  });
});
