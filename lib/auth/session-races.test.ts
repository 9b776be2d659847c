// A sign-in reads the password hash, runs argon2 for milliseconds, then stores its session.
// These tests put a reset, a password change or "This wasn't me" inside that window, first
// step by step (on every database), then as real parallel sign-ins (PostgreSQL only: PGlite
// runs one query at a time and cannot show a race), and prove that no session issued for the
// old password survives the change.
import { randomInt } from "node:crypto";
import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import { auditEvents, passwordChangeReportTokens, passwordResetTokens, sessions } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { signInsRacing } from "@/test-support/races";
import { createUser, uniqueEmail } from "@/test-support/users";
import { changePassword } from "../accounts/change-password";
import { reportPasswordChange } from "../recovery/wasnt-me";
import { resetPassword } from "../recovery/reset";
import { generateToken } from "../tokens";
import { findSession, issueSignInSession } from "./sessions";
import { attemptSignIn } from "./sign-in-throttle";

const OLD_PASSWORD = "Old-Password-Race-7";
const NEW_PASSWORD = "New-Password-Race-8";
const NOTHING_LATER = () => {};

/** A client address of its own for every attempt, so the sign-in limits never interfere. */
const freshIp = (): string => `198.18.${randomInt(0, 256)}.${randomInt(1, 255)}`;

/** A confirmed account with OLD_PASSWORD. */
const confirmedUser = (db: Database) => createUser(db, { email: uniqueEmail("race"), password: OLD_PASSWORD });

/** An unused single-use link of `table` for the user. */
async function linkFor(
  db: Database,
  table: typeof passwordResetTokens | typeof passwordChangeReportTokens,
  userId: string,
): Promise<string> {
  const { token, hash } = generateToken();
  await db.insert(table).values({ userId, tokenHash: hash, expiresAt: new Date(Date.now() + 60 * 60_000) });
  return token;
}

type Operation = "reset" | "change password" | "this wasn't me";

/**
 * Prepares `operation` for the user and returns the call that commits it; it resolves once
 * the operation has answered success, and throws otherwise.
 */
async function prepare(db: Database, operation: Operation, user: { id: string }): Promise<() => Promise<void>> {
  const context = { ip: freshIp(), userAgent: "race-test" };
  if (operation === "reset") {
    const token = await linkFor(db, passwordResetTokens, user.id);
    return async () => {
      const result = await resetPassword(db, { token, password: NEW_PASSWORD, ...context }, NOTHING_LATER);
      if (!result.ok) throw new Error(`reset failed: ${result.code}`);
    };
  }
  if (operation === "change password") {
    return async () => {
      const result = await changePassword(
        db,
        { userId: user.id, currentPassword: OLD_PASSWORD, newPassword: NEW_PASSWORD, ...context },
        NOTHING_LATER,
      );
      if (!result.ok) throw new Error(`change failed: ${result.code}`);
      // The browser that changed it stays signed in, on the new password.
      expect(await findSession(db, result.session.sessionToken)).not.toBeNull();
    };
  }
  const token = await linkFor(db, passwordChangeReportTokens, user.id);
  return async () => {
    const result = await reportPasswordChange(db, token, context, NOTHING_LATER);
    if (!result.ok) throw new Error(`report failed: ${result.problem}`);
  };
}

/** The password check of a sign-in with OLD_PASSWORD (what Auth.js's authorize() runs). */
async function checkOldPassword(db: Database, email: string) {
  const result = await attemptSignIn(db, { email, password: OLD_PASSWORD, ip: freshIp(), userAgent: "race-test" });
  if (!result.ok) return null;
  return result.user;
}

/** The second half of a sign-in: storing the session the check earned (what jwt.encode runs). */
async function storeSession(db: Database, user: { id: string; credentialsVersion: number }) {
  return issueSignInSession(db, { userId: user.id, credentialsVersion: user.credentialsVersion, ip: null, userAgent: "race-test" });
}

const OPERATIONS: Operation[] = ["reset", "change password", "this wasn't me"];

describeEachDatabase("sessions raced against credential changes", ({ handle, driver }) => {
  const db = () => handle().db;

  it.each(OPERATIONS)(
    "a sign-in whose password check ran before a %s stores no session after it, and is audited as failed",
    async (operation) => {
      const user = await confirmedUser(db());
      const commit = await prepare(db(), operation, user);

      const checked = await checkOldPassword(db(), user.email);
      expect(checked).not.toBeNull();
      await commit();
      expect(await storeSession(db(), checked!)).toBeNull();

      const own = await db().select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, user.id));
      // Only the fresh session of the browser that changed the password, if any.
      expect(own).toHaveLength(operation === "change password" ? 1 : 0);
      const failures = await db()
        .select({ details: auditEvents.details })
        .from(auditEvents)
        .where(eq(auditEvents.event, "user.sign_in_failed"));
      expect(failures.filter((f) => f.details.reason === "credentials_changed").length).toBeGreaterThanOrEqual(1);
    },
  );

  it.each(OPERATIONS)("a session stored just before a %s is dead once it has answered", async (operation) => {
    const user = await confirmedUser(db());
    const commit = await prepare(db(), operation, user);

    const checked = await checkOldPassword(db(), user.email);
    const stored = await storeSession(db(), checked!);
    expect(stored).not.toBeNull();
    expect(await findSession(db(), stored!.sessionToken)).not.toBeNull();
    await commit();
    expect(await findSession(db(), stored!.sessionToken)).toBeNull();
  });

  it("a session row that recorded the old version stays dead even if it was written after the change", async () => {
    // What a conditional insert alone cannot rule out under READ COMMITTED: its SELECT ran on
    // a snapshot from just before the change committed. The read-time comparison catches it.
    const user = await confirmedUser(db());
    const checked = await checkOldPassword(db(), user.email);
    const commit = await prepare(db(), "reset", user);
    await commit();
    const token = generateToken();
    await db()
      .insert(sessions)
      .values({
        sessionToken: token.hash,
        userId: user.id,
        expires: new Date(Date.now() + 86_400_000),
        credentialsVersion: checked!.credentialsVersion,
      });
    expect(await findSession(db(), token.token)).toBeNull();
  });

  if (driver === "postgres") {
    it.each(OPERATIONS)(
      "parallel sign-ins with the old password raced against a %s: none of their sessions survives it",
      async (operation) => {
        // Each round races six sign-in loops against one change; rounds repeat so that the
        // window (hash read -> argon2 -> insert) is hit many times over.
        let issued = 0;
        let afterwards = 0;
        for (let round = 0; round < 4; round++) {
          const user = await confirmedUser(db());
          const commit = await prepare(db(), operation, user);
          const tokens = await signInsRacing({
            signIn: async () => {
              const checked = await checkOldPassword(db(), user.email);
              if (!checked) return null;
              return (await storeSession(db(), checked))?.sessionToken ?? null;
            },
            change: commit,
          });
          issued += tokens.length;
          const alive = [];
          for (const token of tokens) if (await findSession(db(), token)) alive.push(token);
          afterwards += alive.length;
        }
        expect(issued).toBeGreaterThan(10);
        expect(afterwards).toBe(0);
      },
      60_000,
    );
  }
});
