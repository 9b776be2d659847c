import "server-only";
import { createHmac, randomFillSync, timingSafeEqual } from "node:crypto";
import { lt, sql } from "drizzle-orm";
import { queryRows, type Database, type Transaction } from "@/db/client";
import { users, webauthnChallenges } from "@/db/schema";
import { env } from "../env";
import { authSecrets, derivedKey } from "../jobs/seal";
import { hashToken } from "../tokens";

// A challenge carries its own proof, so that beginning a ceremony writes nothing: the sign-in
// page asks for one on every visit, and anyone may visit it. It is a nonce and an expiry, signed
// with a key derived from AUTH_SECRET over them and the ceremony's scope (purpose, user and
// binding), so it is good for that ceremony only and until then only. What makes it single-use
// is the row its first use writes (its SHA-256 is unique): a ceremony costs a row when someone
// answers it, which the callers count against their limits first, not when someone asks.

/** How long a WebAuthn ceremony may take, from the options to the response. */
export const CHALLENGE_TTL_SECONDS = 5 * 60;

const NONCE_BYTES = 16;
const EXPIRY_BYTES = 8;
const BODY_BYTES = NONCE_BYTES + EXPIRY_BYTES;
const MAC_BYTES = 32;

export type ChallengePurpose = (typeof webauthnChallenges.purpose.enumValues)[number];

export interface ChallengeScope {
  purpose: ChallengePurpose;
  /** The user the ceremony is for; null for a discoverable sign-in (the passkey says whose it is). */
  userId: string | null;
  /** What the ceremony is bound to (a session token, a pending sign-in's token, a reset token, a ceremony cookie). */
  binding: string;
}

function scopeMac(secret: string, body: Buffer, scope: ChallengeScope): Buffer {
  // The body has a fixed length and the scope is one JSON array after it: no two inputs read alike.
  return createHmac("sha256", derivedKey(secret, "webauthn-challenge"))
    .update(body)
    .update(JSON.stringify([scope.purpose, scope.userId, hashToken(scope.binding)]))
    .digest();
}

/**
 * A challenge for `scope` that lasts CHALLENGE_TTL_SECONDS from `now`, for the options' `challenge`
 * (the browser gets it back base64url-encoded). Stores nothing.
 */
export function issueChallenge(scope: ChallengeScope, now: number = Date.now()): Uint8Array<ArrayBuffer> {
  const challenge = Buffer.alloc(BODY_BYTES + MAC_BYTES);
  randomFillSync(challenge, 0, NONCE_BYTES);
  challenge.writeBigUInt64BE(BigInt(now + CHALLENGE_TTL_SECONDS * 1000), NONCE_BYTES);
  const body = challenge.subarray(0, BODY_BYTES);
  scopeMac(env().AUTH_SECRET, body, scope).copy(challenge, BODY_BYTES);
  return new Uint8Array(challenge);
}

/**
 * When a challenge this server issued for `scope` expires, or null: not ours (forged, altered,
 * issued for another purpose, user or binding, or not in its one canonical encoding) or expired.
 * One issued under AUTH_SECRET_PREVIOUS still counts while it lasts (a rotation mid-ceremony).
 */
function liveUntil(challenge: string, scope: ChallengeScope): Date | null {
  const bytes = Buffer.from(challenge, "base64url");
  if (bytes.length !== BODY_BYTES + MAC_BYTES || bytes.toString("base64url") !== challenge) return null;
  const body = bytes.subarray(0, BODY_BYTES);
  const mac = bytes.subarray(BODY_BYTES);
  if (!authSecrets().some(({ secret }) => timingSafeEqual(mac, scopeMac(secret, body, scope)))) return null;
  const expiresAt = Number(body.readBigUInt64BE(NONCE_BYTES));
  return expiresAt > Date.now() ? new Date(expiresAt) : null;
}

/**
 * Spends a challenge: true only for the first use of a live one issued for this purpose, binding
 * and user. The use is one INSERT of its SHA-256, unique, so of two parallel uses exactly one
 * wins (a look-then-write would let both through). The row lasts as long as the challenge would
 * have; the maintenance cron deletes it after.
 */
export async function consumeChallenge(db: Database | Transaction, challenge: string, scope: ChallengeScope): Promise<boolean> {
  const expiresAt = liveUntil(challenge, scope);
  if (!expiresAt) return false;
  const t = webauthnChallenges;
  // A user erased since the ceremony began has nothing left to finish (and no row to point at).
  const userExists = scope.userId === null ? sql`true` : sql`exists (select 1 from ${users} where ${users.id} = ${scope.userId})`;
  const expires = sql`${expiresAt.toISOString()}::timestamptz`;
  // Live by the database's clock too: the one the cleanup deletes spent rows by, so that no
  // instance whose clock runs behind can take a challenge whose row is already gone.
  const spent = await queryRows<{ id: string }>(
    db,
    sql`insert into ${t} (challenge_hash, purpose, user_id, binding_hash, expires_at)
      select ${hashToken(challenge)}, ${scope.purpose}, ${scope.userId}, ${hashToken(scope.binding)}, ${expires}
      where ${expires} > now() and ${userExists}
      on conflict (challenge_hash) do nothing
      returning id`,
  );
  return spent.length === 1;
}

/** Deletes spent challenges past their expiry (the maintenance cron); returns how many. */
export async function deleteEndedWebauthnChallenges(db: Database): Promise<number> {
  const deleted = await db
    .delete(webauthnChallenges)
    .where(lt(webauthnChallenges.expiresAt, sql`now()`))
    .returning({ id: webauthnChallenges.id });
  return deleted.length;
}
