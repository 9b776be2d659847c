import { randomBytes } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { auditEvents, jobs, passkeys, passwordChangeReportTokens, recoveryCodes, users, webauthnChallenges } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox, REPORT_LINK, tokenIn } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, collectingSchedule, uniqueIp } from "@/test-support/reset-helpers";
import { SoftwareAuthenticator } from "@/test-support/software-authenticator";
import { createUser } from "@/test-support/users";
import { hashToken } from "../tokens";
import {
  beginPasskeyAuthentication,
  beginPasskeyRegistration,
  finishPasskeyAuthentication,
  finishPasskeyRegistration,
  passkeyRelyingParty,
} from "./passkey-ceremony";
import { CHALLENGE_TTL_SECONDS, issueChallenge, type ChallengeScope } from "./webauthn-challenges";

const outbox = installTestOutbox();
const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });
const binding = () => randomBytes(32).toString("base64url");
/** A challenge issued for `scope` a second longer ago than a ceremony may last. */
const expiredChallenge = (scope: ChallengeScope) =>
  Buffer.from(issueChallenge(scope, Date.now() - CHALLENGE_TTL_SECONDS * 1000 - 1000)).toString("base64url");

describeEachDatabase("passkey ceremonies", ({ handle, driver }) => {
  const db = () => handle().db;

  /** A user with `authenticator` registered as a passkey; returns the user and the stored row's id. */
  async function withPasskey(authenticator = new SoftwareAuthenticator()) {
    const user = await createUser(db());
    const session = binding();
    const options = await beginPasskeyRegistration(db(), { userId: user.id, email: user.email, binding: session });
    const added = await finishPasskeyRegistration(db(), () => {}, {
      userId: user.id,
      binding: session,
      response: authenticator.register(options),
      name: "Test key",
      ...context(),
    });
    if (!added.ok) throw new Error(added.code);
    return { user, authenticator, passkeyId: added.passkey.id };
  }

  it("takes the relying party from APP_URL", () => {
    expect(passkeyRelyingParty()).toEqual({ id: "rekey.test", name: "Rekey", origin: "http://rekey.test" });
  });

  it("registers a passkey: stored public key, audit row, owner email with a report link on its version, and recovery codes once", async () => {
    const user = await createUser(db());
    const session = binding();
    const options = await beginPasskeyRegistration(db(), { userId: user.id, email: user.email, binding: session });
    expect(options.rp).toEqual({ id: "rekey.test", name: "Rekey" });
    expect(options.authenticatorSelection).toMatchObject({ residentKey: "required", userVerification: "required" });
    expect(options.excludeCredentials).toEqual([]);
    // Beginning stores nothing: the challenge is signed for this user and session.
    expect(await db().select().from(webauthnChallenges).where(eq(webauthnChallenges.userId, user.id))).toEqual([]);

    const authenticator = new SoftwareAuthenticator({ synced: true });
    const scheduled = collectingSchedule();
    const added = await finishPasskeyRegistration(db(), scheduled.schedule, {
      userId: user.id,
      binding: session,
      response: authenticator.register(options),
      name: "  Work laptop ",
      ...context(),
    });
    if (!added.ok) throw new Error(added.code);
    expect(added.passkey).toMatchObject({ name: "Work laptop", deviceType: "multiDevice", backedUp: true, lastUsedAt: null });
    expect(added.recoveryCodes).toHaveLength(10);
    const [row] = await db().select().from(passkeys).where(eq(passkeys.id, added.passkey.id));
    expect(row).toMatchObject({ userId: user.id, credentialId: authenticator.id, counter: 0, addedCredentialsVersion: 1 });
    expect(row!.publicKey).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(await db().select().from(recoveryCodes).where(eq(recoveryCodes.userId, user.id))).toHaveLength(10);
    const events = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, user.id), eq(auditEvents.event, "passkey.added")));
    expect(events).toHaveLength(1);
    // Finishing spent it: its hash is kept so that it cannot be used again.
    expect(await db().select().from(webauthnChallenges).where(eq(webauthnChallenges.userId, user.id))).toEqual([
      expect.objectContaining({ challengeHash: hashToken(options.challenge), purpose: "register", bindingHash: hashToken(session) }),
    ]);

    await scheduled.runAll();
    const [mail] = await outbox.to(user.email, "A passkey was added to your Rekey account");
    expect(mail?.text).toContain("A passkey named “Work laptop” was added");
    const reportToken = tokenIn(mail, REPORT_LINK);
    const [report] = await db()
      .select()
      .from(passwordChangeReportTokens)
      .where(eq(passwordChangeReportTokens.tokenHash, hashToken(reportToken)));
    expect(report?.reportsCredentialsVersion).toBe(1);

    // A second passkey: listed as excluded, and no new recovery codes (the account has some).
    const again = await beginPasskeyRegistration(db(), { userId: user.id, email: user.email, binding: session });
    expect(again.excludeCredentials).toEqual([{ id: authenticator.id, type: "public-key", transports: ["internal"] }]);
    const second = await finishPasskeyRegistration(db(), () => {}, {
      userId: user.id,
      binding: session,
      response: new SoftwareAuthenticator().register(again),
      name: "Phone",
      ...context(),
    });
    expect(second).toMatchObject({ ok: true, recoveryCodes: null, passkey: { deviceType: "singleDevice", backedUp: false } });
  });

  it("refuses a registration made for another relying party (origin or RP ID), and its challenge is spent", async () => {
    const user = await createUser(db());
    const session = binding();
    for (const ceremony of [{ origin: "https://evil.test" }, { rpId: "evil.test" }, { origin: "http://rekey.test:8080" }]) {
      const options = await beginPasskeyRegistration(db(), { userId: user.id, email: user.email, binding: session });
      const authenticator = new SoftwareAuthenticator();
      const input = { userId: user.id, binding: session, name: "Key", ...context() };
      expect(await finishPasskeyRegistration(db(), () => {}, { ...input, response: authenticator.register(options, ceremony) })).toEqual({
        ok: false,
        code: "VERIFICATION_FAILED",
      });
      expect(await finishPasskeyRegistration(db(), () => {}, { ...input, response: authenticator.register(options) })).toEqual({
        ok: false,
        code: "CHALLENGE_EXPIRED",
      });
    }
    expect(await db().select().from(passkeys).where(eq(passkeys.userId, user.id))).toEqual([]);
    expect(
      await db()
        .select()
        .from(jobs)
        .where(sql`${jobs.payload}->>'userId' = ${user.id}`),
    ).toEqual([]);
  });

  it("refuses a registration without user verification", async () => {
    const user = await createUser(db());
    const session = binding();
    const options = await beginPasskeyRegistration(db(), { userId: user.id, email: user.email, binding: session });
    const response = new SoftwareAuthenticator().register(options, { userVerified: false });
    expect(
      await finishPasskeyRegistration(db(), () => {}, { userId: user.id, binding: session, response, name: "Key", ...context() }),
    ).toEqual({
      ok: false,
      code: "VERIFICATION_FAILED",
    });
    expect(await db().select().from(passkeys).where(eq(passkeys.userId, user.id))).toEqual([]);
  });

  it("refuses a registration challenge bound to another session or another user, and one that expired", async () => {
    const user = await createUser(db());
    const other = await createUser(db());
    const session = binding();
    const options = await beginPasskeyRegistration(db(), { userId: user.id, email: user.email, binding: session });
    const response = new SoftwareAuthenticator().register(options);
    const base = { response, name: "Key", ...context() };
    expect(await finishPasskeyRegistration(db(), () => {}, { ...base, userId: user.id, binding: binding() })).toEqual({
      ok: false,
      code: "CHALLENGE_EXPIRED",
    });
    expect(await finishPasskeyRegistration(db(), () => {}, { ...base, userId: other.id, binding: session })).toEqual({
      ok: false,
      code: "CHALLENGE_EXPIRED",
    });
    const lateOptions = { ...options, challenge: expiredChallenge({ purpose: "register", userId: user.id, binding: session }) };
    const late = { ...base, response: new SoftwareAuthenticator().register(lateOptions) };
    expect(await finishPasskeyRegistration(db(), () => {}, { ...late, userId: user.id, binding: session })).toEqual({
      ok: false,
      code: "CHALLENGE_EXPIRED",
    });
    // None of the refusals spent the live challenge.
    expect((await finishPasskeyRegistration(db(), () => {}, { ...base, userId: user.id, binding: session })).ok).toBe(true);
  });

  it("refuses a credential that is already registered, and input that is not a registration", async () => {
    const { user, authenticator } = await withPasskey();
    const session = binding();
    const options = await beginPasskeyRegistration(db(), { userId: user.id, email: user.email, binding: session });
    const input = { userId: user.id, binding: session, name: "Key", ...context() };
    expect(await finishPasskeyRegistration(db(), () => {}, { ...input, response: authenticator.register(options) })).toEqual({
      ok: false,
      code: "ALREADY_REGISTERED",
    });
    for (const response of [
      null,
      "x",
      { id: "a" },
      { id: "a", rawId: "a", type: "public-key", response: { clientDataJSON: "bm90IGpzb24", attestationObject: "AA" } },
    ]) {
      expect(await finishPasskeyRegistration(db(), () => {}, { ...input, response })).toEqual({ ok: false, code: "VERIFICATION_FAILED" });
    }
  });

  it("signs in with a discoverable passkey: the user, the passkey and the credentials version; last use stored", async () => {
    const { user, authenticator, passkeyId } = await withPasskey();
    await db().update(users).set({ credentialsVersion: 4 }).where(eq(users.id, user.id));
    const ceremony = binding();
    const options = await beginPasskeyAuthentication(db(), { purpose: "sign-in", userId: null, binding: ceremony });
    expect(options).toMatchObject({ rpId: "rekey.test", userVerification: "required", allowCredentials: [] });
    const result = await finishPasskeyAuthentication(db(), {
      purpose: "sign-in",
      userId: null,
      binding: ceremony,
      response: authenticator.assert(options),
    });
    expect(result).toEqual({ ok: true, userId: user.id, passkeyId, credentialsVersion: 4 });
    const [row] = await db().select().from(passkeys).where(eq(passkeys.id, passkeyId));
    expect(row!.lastUsedAt).not.toBeNull();
  });

  it("lists the user's passkeys for a second step, and refuses a passkey of another account there", async () => {
    const { user, authenticator } = await withPasskey();
    const stranger = await withPasskey();
    const pending = binding();
    const options = await beginPasskeyAuthentication(db(), { purpose: "second-factor", userId: user.id, binding: pending });
    expect(options.allowCredentials).toEqual([{ id: authenticator.id, type: "public-key", transports: ["internal"] }]);
    const input = { purpose: "second-factor", userId: user.id, binding: pending } as const;
    expect(await finishPasskeyAuthentication(db(), { ...input, response: stranger.authenticator.assert(options) })).toEqual({
      ok: false,
      code: "VERIFICATION_FAILED",
    });
  });

  it("refuses a replayed assertion: its challenge is spent", async () => {
    const { authenticator } = await withPasskey();
    const ceremony = binding();
    const options = await beginPasskeyAuthentication(db(), { purpose: "sign-in", userId: null, binding: ceremony });
    const response = authenticator.assert(options);
    const input = { purpose: "sign-in", userId: null, binding: ceremony, response } as const;
    expect(await finishPasskeyAuthentication(db(), input)).toMatchObject({ ok: true });
    expect(await finishPasskeyAuthentication(db(), input)).toEqual({ ok: false, code: "CHALLENGE_EXPIRED" });
  });

  it("refuses an assertion without user verification, from another origin, or for another RP ID", async () => {
    const { authenticator, passkeyId } = await withPasskey();
    for (const ceremony of [{ userVerified: false }, { origin: "https://evil.test" }, { rpId: "evil.test" }, { type: "webauthn.create" }]) {
      const bound = binding();
      const options = await beginPasskeyAuthentication(db(), { purpose: "sign-in", userId: null, binding: bound });
      const response = authenticator.assert(options, ceremony);
      expect(await finishPasskeyAuthentication(db(), { purpose: "sign-in", userId: null, binding: bound, response })).toEqual({
        ok: false,
        code: "VERIFICATION_FAILED",
      });
    }
    const [row] = await db().select().from(passkeys).where(eq(passkeys.id, passkeyId));
    expect(row!.lastUsedAt).toBeNull();
  });

  it("refuses an assertion whose signature counter does not grow (a cloned authenticator)", async () => {
    const { authenticator, passkeyId } = await withPasskey(new SoftwareAuthenticator({ counter: 5 }));
    const signIn = async () => {
      const bound = binding();
      const options = await beginPasskeyAuthentication(db(), { purpose: "sign-in", userId: null, binding: bound });
      return finishPasskeyAuthentication(db(), {
        purpose: "sign-in",
        userId: null,
        binding: bound,
        response: authenticator.assert(options),
      });
    };
    expect(await signIn()).toMatchObject({ ok: true });
    const [row] = await db().select().from(passkeys).where(eq(passkeys.id, passkeyId));
    expect(row!.counter).toBe(6);
    authenticator.counter = 6;
    expect(await signIn()).toEqual({ ok: false, code: "VERIFICATION_FAILED" });
    authenticator.counter = 3;
    expect(await signIn()).toEqual({ ok: false, code: "VERIFICATION_FAILED" });
    authenticator.counter = 9;
    expect(await signIn()).toMatchObject({ ok: true });
  });

  it("refuses an expired challenge, one bound to another binding, for another purpose or another user", async () => {
    const { user, authenticator } = await withPasskey();
    const other = await createUser(db());
    const bound = binding();
    const options = await beginPasskeyAuthentication(db(), { purpose: "second-factor", userId: user.id, binding: bound });
    const response = authenticator.assert(options);
    const expired = { ok: false, code: "CHALLENGE_EXPIRED" };
    expect(await finishPasskeyAuthentication(db(), { purpose: "second-factor", userId: user.id, binding: binding(), response })).toEqual(
      expired,
    );
    expect(await finishPasskeyAuthentication(db(), { purpose: "reset", userId: user.id, binding: bound, response })).toEqual(expired);
    expect(await finishPasskeyAuthentication(db(), { purpose: "sign-in", userId: null, binding: bound, response })).toEqual(expired);
    expect(await finishPasskeyAuthentication(db(), { purpose: "second-factor", userId: other.id, binding: bound, response })).toEqual(
      expired,
    );
    const late = authenticator.assert({
      ...options,
      challenge: expiredChallenge({ purpose: "second-factor", userId: user.id, binding: bound }),
    });
    expect(await finishPasskeyAuthentication(db(), { purpose: "second-factor", userId: user.id, binding: bound, response: late })).toEqual(
      expired,
    );
    // None of the refusals spent the live challenge.
    expect((await finishPasskeyAuthentication(db(), { purpose: "second-factor", userId: user.id, binding: bound, response })).ok).toBe(
      true,
    );
  });

  it("answers an unknown passkey exactly as a bad signature, and refuses an account being deleted", async () => {
    const { user, authenticator } = await withPasskey();
    const unknown = new SoftwareAuthenticator();
    const attempt = async (who: SoftwareAuthenticator, tamper = false) => {
      const bound = binding();
      const options = await beginPasskeyAuthentication(db(), { purpose: "sign-in", userId: null, binding: bound });
      const response = who.assert(options);
      if (tamper) response.response.signature = unknown.assert(options).response.signature;
      return finishPasskeyAuthentication(db(), { purpose: "sign-in", userId: null, binding: bound, response });
    };
    expect(await attempt(unknown)).toEqual({ ok: false, code: "VERIFICATION_FAILED" });
    expect(await attempt(authenticator, true)).toEqual({ ok: false, code: "VERIFICATION_FAILED" });
    await db()
      .update(users)
      .set({ deletionRequestedAt: sql`now()` })
      .where(eq(users.id, user.id));
    expect(await attempt(authenticator)).toEqual({ ok: false, code: "VERIFICATION_FAILED" });
  });

  if (driver === "postgres") {
    it("lets exactly one of 20 parallel uses of one challenge pass (an authenticator without a counter)", async () => {
      for (let round = 0; round < 3; round++) {
        const { authenticator } = await withPasskey();
        const bound = binding();
        const options = await beginPasskeyAuthentication(db(), { purpose: "sign-in", userId: null, binding: bound });
        const response = authenticator.assert(options);
        const results = await Promise.all(
          Array.from({ length: 20 }, () =>
            finishPasskeyAuthentication(db(), { purpose: "sign-in", userId: null, binding: bound, response }),
          ),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(1);
      }
    });

    it("lets exactly one of two parallel assertions with the same counter value pass (two challenges)", async () => {
      for (let round = 0; round < 5; round++) {
        const { authenticator } = await withPasskey(new SoftwareAuthenticator({ counter: 1 }));
        const attempts = await Promise.all(
          [0, 1].map(async () => {
            const bound = binding();
            const options = await beginPasskeyAuthentication(db(), { purpose: "sign-in", userId: null, binding: bound });
            return { bound, options };
          }),
        );
        const responses = attempts.map(({ options }) => {
          authenticator.counter = 7;
          return authenticator.assert(options);
        });
        const results = await Promise.all(
          attempts.map(({ bound }, i) =>
            finishPasskeyAuthentication(db(), { purpose: "sign-in", userId: null, binding: bound, response: responses[i] }),
          ),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(1);
      }
    });
  }
});
