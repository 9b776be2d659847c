// API sign-ins with the old password raced against a reset (issue 20): no bearer token issued
// for the old password may work once the reset has answered. Step by step on every database,
// then as real parallel sign-ins on PostgreSQL (PGlite runs one query at a time).
import { randomInt } from "node:crypto";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import { passwordResetTokens } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { signInsRacing } from "@/test-support/races";
import { createUser, uniqueEmail } from "@/test-support/users";
import { resetPassword } from "../recovery/reset";
import { generateToken } from "../tokens";
import { signInApp } from "./app-sign-in";
import { authenticateRequest, issueBearerSession } from "./bearer";
import { checkSignInPassword } from "./sign-in";

const OLD_PASSWORD = "Old-Password-Race-7";
const NEW_PASSWORD = "New-Password-Race-8";
const NOTHING_LATER = () => {};
const freshIp = (): string => `198.19.${randomInt(0, 256)}.${randomInt(1, 255)}`;
const bearer = (token: string) => new Headers({ authorization: `Bearer ${token}` });

/** A reset of `userId` to NEW_PASSWORD, ready to commit. */
async function prepareReset(db: Database, userId: string): Promise<() => Promise<void>> {
  const { token, hash } = generateToken();
  await db.insert(passwordResetTokens).values({ userId, tokenHash: hash, expiresAt: new Date(Date.now() + 3_600_000) });
  return async () => {
    const result = await resetPassword(db, { token, password: NEW_PASSWORD, ip: freshIp(), userAgent: "race-test" }, NOTHING_LATER);
    if (!result.ok) throw new Error(`reset failed: ${result.code}`);
  };
}

async function isAlive(db: Database, token: string): Promise<boolean> {
  return (await authenticateRequest(db, bearer(token))).ok;
}

describeEachDatabase("API sign-ins raced against a reset", ({ handle, driver }) => {
  const db = () => handle().db;

  it("a sign-in whose password check ran before the reset gets no token after it", async () => {
    const user = await createUser(db(), { email: uniqueEmail("api-race"), password: OLD_PASSWORD });
    const commit = await prepareReset(db(), user.id);
    const checked = await checkSignInPassword(db(), { email: user.email, password: OLD_PASSWORD, ip: freshIp(), userAgent: "race-test" });
    if (!checked.ok) throw new Error(checked.code);
    await commit();
    const grant = {
      userId: user.id,
      credentialsVersion: checked.user.credentialsVersion,
      kind: "app" as const,
      clientName: "race",
      ip: null,
      userAgent: null,
    };
    expect(await issueBearerSession(db(), grant)).toBeNull();
  });

  it("a token issued just before the reset answers invalid right after it", async () => {
    const user = await createUser(db(), { email: uniqueEmail("api-race"), password: OLD_PASSWORD });
    const commit = await prepareReset(db(), user.id);
    const signedIn = await signInApp(
      db(),
      { email: user.email, password: OLD_PASSWORD, clientName: "race", ip: freshIp(), userAgent: "race-test" },
      NOTHING_LATER,
    );
    if (!signedIn.ok) throw new Error(signedIn.code);
    expect(await isAlive(db(), signedIn.issued.accessToken)).toBe(true);
    await commit();
    expect(await isAlive(db(), signedIn.issued.accessToken)).toBe(false);
  });

  if (driver === "postgres") {
    it("parallel API sign-ins with the old password raced against a reset: none of their tokens works after it", async () => {
      let issued = 0;
      let alive = 0;
      for (let round = 0; round < 4; round++) {
        const user = await createUser(db(), { email: uniqueEmail("api-race"), password: OLD_PASSWORD });
        const commit = await prepareReset(db(), user.id);
        const tokens = await signInsRacing({
          signIn: async () => {
            const result = await signInApp(
              db(),
              { email: user.email, password: OLD_PASSWORD, clientName: "race", ip: freshIp(), userAgent: "race-test" },
              NOTHING_LATER,
            );
            return result.ok ? result.issued.accessToken : null;
          },
          change: commit,
        });
        issued += tokens.length;
        for (const token of tokens) if (await isAlive(db(), token)) alive++;
      }
      expect(issued).toBeGreaterThan(10);
      expect(alive).toBe(0);
    }, 60_000);
  }
});
