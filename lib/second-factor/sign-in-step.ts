import "server-only";
import { randomBytes } from "node:crypto";
import { and, eq, gt, isNull, lt, sql } from "drizzle-orm";
import type { PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/server";
import type { Database } from "@/db/client";
import { twoFactorChallenges, users } from "@/db/schema";
import { recogniseDevice, type RecognisedDevice } from "../auth/device-token";
import type { SessionGrant } from "../auth/sessions";
import type { RequestContext } from "../client-ip";
import type { Schedule } from "../jobs/definition";
import { hashToken, isWellFormedToken } from "../tokens";
import { beginPasskeyAuthentication } from "./passkey-ceremony";
import { checkPasskey, type PasskeyInput } from "./passkey-factor";
import {
  checkSecondFactor,
  countSecondFactorAttempt,
  recordRecoveryCodeUse,
  settleAttempt,
  type CodeRefusal,
  type SecondFactorInput,
} from "./check";

/** How long the second step of a sign-in waits after the password was right. */
export const SIGN_IN_CHALLENGE_TTL_SECONDS = 5 * 60;

/**
 * Records a sign-in whose password was right for an account with a second factor; returns
 * the raw token for the browser's cookie (only its SHA-256 is stored). No session exists yet.
 */
export async function startSignInChallenge(
  db: Database,
  input: { userId: string; credentialsVersion: number } & RequestContext,
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString("base64url");
  const [row] = await db
    .insert(twoFactorChallenges)
    .values({
      tokenHash: hashToken(token),
      userId: input.userId,
      credentialsVersion: input.credentialsVersion,
      expiresAt: sql`now() + make_interval(secs => ${SIGN_IN_CHALLENGE_TTL_SECONDS})`,
      ip: input.ip,
      userAgent: input.userAgent,
    })
    .returning({ expiresAt: twoFactorChallenges.expiresAt });
  if (!row) throw new Error("challenge insert returned no row");
  return { token, expiresAt: row.expiresAt };
}

/** The pending sign-in a challenge cookie belongs to, while it may still be completed; else null. */
export async function findSignInChallenge(db: Database, token: string): Promise<{ userId: string; email: string; expiresAt: Date } | null> {
  if (!isWellFormedToken(token)) return null;
  const [row] = await db
    .select({ userId: twoFactorChallenges.userId, email: users.email, expiresAt: twoFactorChallenges.expiresAt })
    .from(twoFactorChallenges)
    .innerJoin(users, eq(users.id, twoFactorChallenges.userId))
    .where(
      and(
        eq(twoFactorChallenges.tokenHash, hashToken(token)),
        isNull(twoFactorChallenges.usedAt),
        gt(twoFactorChallenges.expiresAt, sql`now()`),
      ),
    );
  return row ?? null;
}

export type SignInChallengeResult =
  | {
      ok: true;
      grant: SessionGrant;
      method: "totp" | "recovery_code" | "passkey";
      /** The account's address, and this browser's device token for it if it has a valid one. */
      email: string;
      device: RecognisedDevice | null;
    }
  | CodeRefusal
  | { ok: false; code: "CHALLENGE_EXPIRED" };

/** The passkey request options for a pending sign-in's second step, bound to its token; null once it ended. */
export async function beginPasskeySecondStep(db: Database, token: string): Promise<PublicKeyCredentialRequestOptionsJSON | null> {
  const challenge = await findSignInChallenge(db, token);
  if (!challenge) return null;
  return beginPasskeyAuthentication(db, { purpose: "second-factor", userId: challenge.userId, binding: token });
}

/**
 * The second step of a sign-in: the challenge must be unused and unexpired, the code (or the
 * passkey's assertion) right, within the account's budget. On success the challenge is spent with it, and the
 * caller stores a session for the returned grant (it carries the credentials version of the
 * password check, so a password change in between still wins).
 */
export async function passSignInChallenge(
  db: Database,
  input: { token: string; deviceCookie?: string | null } & SecondFactorInput & PasskeyInput & RequestContext,
  schedule: Schedule,
): Promise<SignInChallengeResult> {
  const challenge = await findSignInChallenge(db, input.token);
  if (!challenge) return { ok: false, code: "CHALLENGE_EXPIRED" };
  // A browser that signed in to this account before spends its own code budget, never the
  // one a guesser who knows the password can keep spent.
  const device = recogniseDevice(input.deviceCookie, challenge.email);
  const budgetOptions = { device: device?.nonce ?? null, schedule };
  const budget = await countSecondFactorAttempt(db, challenge.userId, input, budgetOptions);
  if (!budget.ok) return budget;
  const outcome = await db.transaction(async (tx): Promise<SignInChallengeResult> => {
    const [row] = await tx
      .select({ userId: twoFactorChallenges.userId, credentialsVersion: twoFactorChallenges.credentialsVersion })
      .from(twoFactorChallenges)
      .where(
        and(
          eq(twoFactorChallenges.tokenHash, hashToken(input.token)),
          isNull(twoFactorChallenges.usedAt),
          gt(twoFactorChallenges.expiresAt, sql`now()`),
        ),
      )
      .for("update");
    if (!row) return { ok: false, code: "CHALLENGE_EXPIRED" };
    // The passkey's challenge is spent in this transaction too, with the sign-in's (the row lock
    // above makes a code and a passkey sent at once for one pending sign-in wait for each other).
    const checked =
      input.passkey === undefined
        ? await checkSecondFactor(tx, row.userId, input)
        : await checkPasskey(tx, { purpose: "second-factor", binding: input.token, userId: row.userId, response: input.passkey });
    if (!checked.ok) return checked.code === "NOT_ENABLED" ? { ok: false, code: "CHALLENGE_EXPIRED" } : { ok: false, code: "INVALID_CODE" };
    await tx
      .update(twoFactorChallenges)
      .set({ usedAt: sql`now()` })
      .where(eq(twoFactorChallenges.tokenHash, hashToken(input.token)));
    if (checked.method === "recovery_code") {
      await recordRecoveryCodeUse(db, tx, schedule, {
        userId: row.userId,
        recoveryCodesLeft: checked.recoveryCodesLeft ?? 0,
        ip: input.ip,
        userAgent: input.userAgent,
      });
    }
    return {
      ok: true,
      method: checked.method,
      email: challenge.email,
      device,
      grant: {
        userId: row.userId,
        credentialsVersion: row.credentialsVersion,
        ip: input.ip,
        userAgent: input.userAgent,
        secondFactor: true,
      },
    };
  });
  await settleAttempt(db, challenge.userId, outcome, input, budgetOptions);
  return outcome;
}

/** Deletes sign-in challenges that ended more than a day ago (the cleanup cron). */
export async function deleteEndedSignInChallenges(db: Database): Promise<number> {
  const deleted = await db
    .delete(twoFactorChallenges)
    .where(lt(twoFactorChallenges.expiresAt, sql`now() - interval '1 day'`))
    .returning({ id: twoFactorChallenges.id });
  return deleted.length;
}
