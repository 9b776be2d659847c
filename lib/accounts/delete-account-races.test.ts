// A deletion racing sign-ins in flight (password checked before the deletion commits, session
// stored after), and a cancel racing the cleanup that erases the account. Step by step on every
// database; as real parallel calls on PostgreSQL only (PGlite runs one query at a time).
import { eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import { accountDeletionCancelTokens, sessions, users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { signInsRacing } from "@/test-support/races";
import { uniqueIp } from "@/test-support/reset-helpers";
import { insertSession } from "@/test-support/sessions";
import { createUser, CURRENT_PASSWORD } from "@/test-support/users";
import { findSession, issueSignInSession } from "../auth/sessions";
import { attemptSignIn } from "../auth/sign-in-throttle";
import { cleanUpExpiredRecords } from "../maintenance";
import { generateToken } from "../tokens";
import { cancelAccountDeletion, requestAccountDeletion } from "./delete-account";

const NOTHING_LATER = () => {};

describeEachDatabase("account deletion races", ({ handle, driver }) => {
  const db = (): Database => handle().db;

  /** The password check of a sign-in (what Auth.js's authorize() runs): the user it earned, or null. */
  async function checkPassword(email: string) {
    const result = await attemptSignIn(db(), { email, password: CURRENT_PASSWORD, ip: uniqueIp(), userAgent: "race-test" });
    return result.ok ? result.user : null;
  }

  /** The second half of a sign-in: storing the session the check earned (what jwt.encode runs). */
  const storeSession = (user: { id: string; credentialsVersion: number }) =>
    issueSignInSession(db(), { userId: user.id, credentialsVersion: user.credentialsVersion, ip: null, userAgent: "race-test" });

  /** A confirmed user and the call that deletes the account from its freshly confirmed session. */
  async function deletable() {
    const user = await createUser(db());
    const own = await insertSession(db(), { userId: user.id, userAgent: "race-test", ip: null });
    const commit = async () => {
      const result = await requestAccountDeletion(
        db(),
        { userId: user.id, sessionId: own.id, typedEmail: user.email, ip: null, userAgent: "race-test" },
        NOTHING_LATER,
      );
      if (!result.ok) throw new Error(`deletion failed: ${result.code}`);
    };
    return { user, commit };
  }

  it("a sign-in whose password check ran before the deletion gets no live session after it", async () => {
    const { user, commit } = await deletable();
    const checked = await checkPassword(user.email);
    expect(checked).not.toBeNull();
    await commit();
    const stored = await storeSession(checked!);
    if (stored) expect(await findSession(db(), stored.sessionToken)).toBeNull();
    const live = await db().select({ token: sessions.sessionToken }).from(sessions).where(eq(sessions.userId, user.id));
    expect(live).toEqual([]);
  });

  if (driver !== "postgres") return;

  it("parallel sign-ins raced against a deletion: none of their sessions survives it", async () => {
    let issued = 0;
    let alive = 0;
    for (let round = 0; round < 4; round++) {
      const { user, commit } = await deletable();
      const tokens = await signInsRacing({
        signIn: async () => {
          const checked = await checkPassword(user.email);
          if (!checked) return null;
          return (await storeSession(checked))?.sessionToken ?? null;
        },
        change: commit,
      });
      issued += tokens.length;
      for (const token of tokens) if (await findSession(db(), token)) alive += 1;
    }
    expect(issued).toBeGreaterThan(10);
    expect(alive).toBe(0);
  }, 60_000);

  it("cancels raced against the cleanup: each account ends either restored or erased, and a cancel that answered success is never erased", async () => {
    let restored = 0;
    let erased = 0;
    for (let round = 0; round < 6; round++) {
      const accounts = [];
      for (let n = 0; n < 6; n++) {
        const user = await createUser(db());
        const { token, hash } = generateToken();
        await db()
          .update(users)
          .set({ deletionRequestedAt: sql`now() - interval '30 days'` })
          .where(eq(users.id, user.id));
        await db()
          .insert(accountDeletionCancelTokens)
          .values({ userId: user.id, tokenHash: hash, expiresAt: new Date(Date.now() + 86_400_000) });
        accounts.push({ user, token });
      }
      const [cleanup, ...cancels] = await Promise.all([
        cleanUpExpiredRecords(db()),
        ...accounts.map(({ token }) => cancelAccountDeletion(db(), token, { ip: null, userAgent: "race-test" }, NOTHING_LATER)),
      ]);
      let erasedThisRound = 0;
      for (const [n, { user }] of accounts.entries()) {
        const [row] = await db().select({ pending: users.deletionRequestedAt }).from(users).where(eq(users.id, user.id));
        if (cancels[n]!.ok) {
          expect(row).toEqual({ pending: null });
          restored += 1;
        } else {
          expect(row).toBeUndefined();
          erasedThisRound += 1;
        }
      }
      expect((cleanup as { erasedAccounts: number }).erasedAccounts).toBe(erasedThisRound);
      erased += erasedThisRound;
    }
    expect(restored + erased).toBe(36);
  }, 60_000);
});
