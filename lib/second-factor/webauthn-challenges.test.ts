import { randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterEach, expect, it, vi } from "vitest";
import { webauthnChallenges } from "@/db/schema";
import { startPasskeySignIn } from "@/lib/auth/passkey-sign-in";
import { describeEachDatabase } from "@/test-support/databases";
import { uniqueIp } from "@/test-support/reset-helpers";
import { createUser } from "@/test-support/users";
import { overrideEnvForTests } from "../env";
import { hashToken } from "../tokens";
import {
  CHALLENGE_TTL_SECONDS,
  consumeChallenge,
  deleteEndedWebauthnChallenges,
  issueChallenge,
  type ChallengeScope,
} from "./webauthn-challenges";

const encoded = (challenge: Uint8Array) => Buffer.from(challenge).toString("base64url");
const signIn = (): ChallengeScope => ({ purpose: "sign-in", userId: null, binding: randomBytes(32).toString("base64url") });

afterEach(() => {
  overrideEnvForTests({});
});

describeEachDatabase("WebAuthn challenges", ({ handle, driver }) => {
  const db = () => handle().db;
  const rows = async () =>
    (
      await db()
        .select({ n: sql<number>`count(*)::int` })
        .from(webauthnChallenges)
    )[0]!.n;

  it("stores nothing when a passkey sign-in begins, however often the page asks", async () => {
    const before = await rows();
    const ip = uniqueIp();
    for (let i = 0; i < 25; i++) {
      const started = await startPasskeySignIn(db(), { ip, userAgent: null });
      expect(started.ok).toBe(true);
    }
    expect(await rows()).toBe(before);
  });

  it("spends a live challenge once, keeping its hash and scope (never the challenge) until it would have expired", async () => {
    const user = await createUser(db());
    const scope: ChallengeScope = { purpose: "register", userId: user.id, binding: "a session token" };
    const challenge = encoded(issueChallenge(scope));
    expect(await consumeChallenge(db(), challenge, scope)).toBe(true);
    expect(await consumeChallenge(db(), challenge, scope)).toBe(false);
    const [row] = await db()
      .select()
      .from(webauthnChallenges)
      .where(eq(webauthnChallenges.challengeHash, hashToken(challenge)));
    expect(row).toMatchObject({ purpose: "register", userId: user.id, bindingHash: hashToken("a session token") });
    const lasts = row!.expiresAt.getTime() - Date.now();
    expect(lasts).toBeGreaterThan((CHALLENGE_TTL_SECONDS - 60) * 1000);
    expect(lasts).toBeLessThanOrEqual(CHALLENGE_TTL_SECONDS * 1000);
    expect(JSON.stringify(row)).not.toContain(challenge);
  });

  it("refuses a challenge for another purpose, user or binding, an expired, forged or altered one, and another encoding of a live one", async () => {
    const user = await createUser(db());
    const other = await createUser(db());
    const scope: ChallengeScope = { purpose: "second-factor", userId: user.id, binding: "pending" };
    const before = await rows();
    const live = issueChallenge(scope);
    const challenge = encoded(live);
    for (const wrong of [
      { ...scope, purpose: "reset" as const },
      { ...scope, purpose: "sign-in" as const, userId: null },
      { ...scope, userId: other.id },
      { ...scope, binding: "another browser" },
    ]) {
      expect(await consumeChallenge(db(), challenge, wrong)).toBe(false);
    }
    const expired = encoded(issueChallenge(scope, Date.now() - CHALLENGE_TTL_SECONDS * 1000 - 1));
    expect(await consumeChallenge(db(), expired, scope)).toBe(false);
    expect(await consumeChallenge(db(), randomBytes(live.length).toString("base64url"), scope)).toBe(false);
    // Its expiry pushed a day later: the signature no longer matches.
    const extended = Buffer.from(live);
    extended.writeBigUInt64BE(extended.readBigUInt64BE(16) + 86_400_000n, 16);
    expect(await consumeChallenge(db(), encoded(extended), scope)).toBe(false);
    // The same bytes spelt with other padding bits: a second hash must not make a second use.
    const last = challenge.at(-1)!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const respelt = challenge.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1];
    expect(Buffer.from(respelt, "base64url").equals(Buffer.from(live))).toBe(true);
    expect(await consumeChallenge(db(), respelt, scope)).toBe(false);
    expect(await consumeChallenge(db(), `${challenge}=`, scope)).toBe(false);
    // None of the refusals wrote a row or spent it.
    expect(await rows()).toBe(before);
    expect(await consumeChallenge(db(), challenge, scope)).toBe(true);
  });

  it("finishes a ceremony begun before AUTH_SECRET was rotated, and refuses one signed with another secret", async () => {
    const scope = signIn();
    const old = "the-old-secret-of-at-least-32-characters";
    overrideEnvForTests({ AUTH_SECRET: old });
    const begun = encoded(issueChallenge(scope));
    const unrelated = encoded(issueChallenge({ ...scope, binding: "other" }));
    overrideEnvForTests({ AUTH_SECRET: "the-new-secret-of-at-least-32-characters" });
    expect(await consumeChallenge(db(), begun, scope)).toBe(false);
    overrideEnvForTests({ AUTH_SECRET: "the-new-secret-of-at-least-32-characters", AUTH_SECRET_PREVIOUS: old });
    expect(await consumeChallenge(db(), begun, scope)).toBe(true);
    expect(await consumeChallenge(db(), unrelated, { ...scope, binding: "other" })).toBe(true);
  });

  it("has nothing to spend for a user erased since the ceremony began", async () => {
    const user = await createUser(db());
    const scope: ChallengeScope = { purpose: "confirm", userId: user.id, binding: "session" };
    const challenge = encoded(issueChallenge(scope));
    await db().execute(sql`delete from users where id = ${user.id}`);
    expect(await consumeChallenge(db(), challenge, scope)).toBe(false);
  });

  it("deletes spent challenges once they would have expired (the maintenance cron), and keeps the live ones", async () => {
    const live = signIn();
    const ended = signIn();
    const liveChallenge = encoded(issueChallenge(live));
    const endedChallenge = encoded(issueChallenge(ended));
    expect(await consumeChallenge(db(), liveChallenge, live)).toBe(true);
    expect(await consumeChallenge(db(), endedChallenge, ended)).toBe(true);
    await db()
      .update(webauthnChallenges)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(webauthnChallenges.challengeHash, hashToken(endedChallenge)));
    expect(await deleteEndedWebauthnChallenges(db())).toBeGreaterThanOrEqual(1);
    const left = (await db().select({ hash: webauthnChallenges.challengeHash }).from(webauthnChallenges)).map((r) => r.hash);
    expect(left).toContain(hashToken(liveChallenge));
    expect(left).not.toContain(hashToken(endedChallenge));
  });

  if (driver === "postgres") {
    // PGlite runs in this process and reads its clock, so only a server can run behind it.
    it("refuses a challenge the database's clock has seen expire, on an instance whose clock runs 10 minutes behind", async () => {
      const scope = signIn();
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() - 10 * 60_000 });
      try {
        // Live for this instance's clock: 5 minutes left.
        const challenge = encoded(issueChallenge(scope));
        expect(await consumeChallenge(db(), challenge, scope)).toBe(false);
        // And a challenge live by both clocks is still taken on that instance.
        const live = encoded(issueChallenge(scope, Date.now() + 10 * 60_000));
        expect(await consumeChallenge(db(), live, scope)).toBe(true);
      } finally {
        vi.useRealTimers();
      }
    });

    it("lets exactly one of 20 parallel uses of one challenge through", async () => {
      for (let round = 0; round < 3; round++) {
        const scope = signIn();
        const challenge = encoded(issueChallenge(scope));
        const spent = await Promise.all(Array.from({ length: 20 }, () => consumeChallenge(db(), challenge, scope)));
        expect(spent.filter(Boolean)).toHaveLength(1);
      }
    });
  }
});
