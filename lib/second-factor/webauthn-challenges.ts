import "server-only";
import { and, eq, gt, isNull, lt, sql } from "drizzle-orm";
import type { Database, Transaction } from "@/db/client";
import { webauthnChallenges } from "@/db/schema";
import { hashToken } from "../tokens";

/** How long a WebAuthn ceremony may take, from the options to the response. */
export const CHALLENGE_TTL_SECONDS = 5 * 60;

export type ChallengePurpose = (typeof webauthnChallenges.purpose.enumValues)[number];

export interface ChallengeScope {
  purpose: ChallengePurpose;
  /** The user the ceremony is for; null for a discoverable sign-in (the passkey says whose it is). */
  userId: string | null;
  /** What the ceremony is bound to (a session token, a pending sign-in's token, a reset token, a ceremony cookie). */
  binding: string;
}

/** Stores a challenge (only its SHA-256, and that of its binding) for CHALLENGE_TTL_SECONDS. */
export async function storeChallenge(db: Database | Transaction, challenge: string, scope: ChallengeScope): Promise<void> {
  await db.insert(webauthnChallenges).values({
    challengeHash: hashToken(challenge),
    purpose: scope.purpose,
    userId: scope.userId,
    bindingHash: hashToken(scope.binding),
    expiresAt: sql`now() + make_interval(secs => ${CHALLENGE_TTL_SECONDS})`,
  });
}

/**
 * Spends a challenge: true only for the one caller whose DELETE removed the live row of this
 * purpose, binding and user. One statement, so of two parallel uses exactly one wins (a
 * select-then-delete would let both through).
 */
export async function consumeChallenge(db: Database | Transaction, challenge: string, scope: ChallengeScope): Promise<boolean> {
  const spent = await db
    .delete(webauthnChallenges)
    .where(
      and(
        eq(webauthnChallenges.challengeHash, hashToken(challenge)),
        eq(webauthnChallenges.purpose, scope.purpose),
        eq(webauthnChallenges.bindingHash, hashToken(scope.binding)),
        scope.userId === null ? isNull(webauthnChallenges.userId) : eq(webauthnChallenges.userId, scope.userId),
        gt(webauthnChallenges.expiresAt, sql`now()`),
      ),
    )
    .returning({ id: webauthnChallenges.id });
  return spent.length === 1;
}

/** Deletes challenges past their expiry (the maintenance cron); returns how many. */
export async function deleteEndedWebauthnChallenges(db: Database): Promise<number> {
  const deleted = await db
    .delete(webauthnChallenges)
    .where(lt(webauthnChallenges.expiresAt, sql`now()`))
    .returning({ id: webauthnChallenges.id });
  return deleted.length;
}
