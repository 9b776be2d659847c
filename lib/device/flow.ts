import "server-only";
import { and, eq, lt, sql } from "drizzle-orm";
import { queryRows, type Database } from "@/db/client";
import { deviceAuthorizations, users } from "@/db/schema";
import { enqueueNewDeviceSignIn } from "../auth/owner-alerts";
import { clientKey, type RequestContext } from "../client-ip";
import type { Schedule } from "../jobs/definition";
import { consumeRateLimit, type RateLimit } from "../rate-limit";
import { hasSecondFactorSql } from "../second-factor/second-factors";
import { hashToken, isWellFormedToken } from "../tokens";
import { generateDeviceCode, generateUserCode, hashUserCode } from "./codes";
import { issueBearerSession, type IssuedBearer } from "../auth/bearer";

// RFC 8628 from the tool's side: ask for a pair of codes, then poll with the device code until
// the person has decided at /device. The device code never leaves the tool and the user code
// never reaches the tool's session: both are stored only as SHA-256.

/** How long a pair of codes lives: the person has this long to approve. */
export const DEVICE_CODE_TTL_SECONDS = 10 * 60;
/** The least seconds between polls (RFC 8628 §3.2 `interval`); slow_down adds SLOW_DOWN_STEP. */
export const DEVICE_POLL_INTERVAL_SECONDS = 5;
export const SLOW_DOWN_STEP_SECONDS = 5;
/** Code requests per client IP: a tool asks once per sign-in, a script gone wrong thousands of times. */
export const DEVICE_CODE_IP_LIMIT: RateLimit = { name: "device-code-ip", max: 20, windowSeconds: 60 * 60 };

export type DeviceCodeResult =
  | { ok: true; deviceCode: string; userCode: string; expiresIn: number; interval: number }
  | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

/** A new pending authorization for the tool `clientName`; its codes are returned once, here. */
export async function requestDeviceAuthorization(db: Database, input: { clientName: string } & RequestContext): Promise<DeviceCodeResult> {
  const counted = await consumeRateLimit(db, DEVICE_CODE_IP_LIMIT, clientKey(input.ip));
  if (!counted.allowed) return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: counted.retryAfterSeconds };
  const device = generateDeviceCode();
  // A user code repeats once in ~10^5 live codes (birthday bound on 2.6e10): draw again then.
  for (let attempt = 0; ; attempt++) {
    const userCode = generateUserCode();
    const [row] = await db
      .insert(deviceAuthorizations)
      .values({
        deviceCodeHash: device.hash,
        userCodeHash: hashUserCode(userCode),
        clientName: input.clientName,
        expiresAt: sql`now() + make_interval(secs => ${DEVICE_CODE_TTL_SECONDS})`,
        intervalSeconds: DEVICE_POLL_INTERVAL_SECONDS,
        ip: input.ip,
        userAgent: input.userAgent,
      })
      .onConflictDoNothing()
      .returning({ id: deviceAuthorizations.id });
    if (row)
      return { ok: true, deviceCode: device.token, userCode, expiresIn: DEVICE_CODE_TTL_SECONDS, interval: DEVICE_POLL_INTERVAL_SECONDS };
    if (attempt >= 5) throw new Error("no free user code after 6 draws");
  }
}

/** RFC 8628 §3.5's answers to a poll, and RFC 6749's invalid_grant for a code that is not (or no longer) one. */
export type DevicePollError = "authorization_pending" | "slow_down" | "access_denied" | "expired_token" | "invalid_grant";

export type DevicePollResult =
  { ok: true; session: IssuedBearer; user: { id: string; email: string } } | { ok: false; error: DevicePollError; description: string };

const refused = (error: DevicePollError, description: string): DevicePollResult => ({ ok: false, error, description });

/**
 * One poll of the token endpoint. Records the poll (raising the interval by 5 s when it came
 * sooner than the interval allows, as RFC 8628 §3.5 says), then answers by the state; an
 * approved authorization becomes a device session once: the answer after that is invalid_grant.
 */
export async function pollDeviceToken(
  db: Database,
  input: { deviceCode: string } & RequestContext,
  schedule: Schedule,
): Promise<DevicePollResult> {
  if (!isWellFormedToken(input.deviceCode)) return refused("invalid_grant", "The device code is not valid.");
  const hash = hashToken(input.deviceCode);
  // The poll's time and the slow_down rule in one statement: the row lock orders parallel polls,
  // and each compares with the poll before it (the old row, read under that lock).
  const [row] = await queryRows<{ status: string; expired: boolean; too_fast: boolean }>(
    db,
    sql`update ${deviceAuthorizations} as d set
        last_polled_at = now(),
        interval_seconds = case when old.too_fast then d.interval_seconds + ${SLOW_DOWN_STEP_SECONDS} else d.interval_seconds end
      from (
        select id, status = 'pending' and last_polled_at is not null
          and last_polled_at > clock_timestamp() - make_interval(secs => interval_seconds) as too_fast
        from ${deviceAuthorizations} where device_code_hash = ${hash} for update
      ) as old
      where d.id = old.id
      returning d.status, d.expires_at <= now() as expired, old.too_fast`,
  );
  if (!row) return refused("invalid_grant", "The device code is not valid.");
  if (row.status === "issued") return refused("invalid_grant", "This device code has already been used. Start again in the tool.");
  if (row.expired) return refused("expired_token", "The device code has expired. Start again in the tool.");
  if (row.status === "denied") return refused("access_denied", "The request was denied.");
  if (row.status === "pending") {
    return row.too_fast
      ? refused("slow_down", "Polling too often: wait 5 seconds longer between polls from now on.")
      : refused("authorization_pending", "Waiting for the person to approve the request.");
  }
  return issueApprovedDevice(db, hash, input, schedule);
}

/**
 * Approved → issued and the session, in one transaction: the conditional UPDATE lets exactly one
 * of any number of parallel polls through, and the session is stored only for the credentials
 * version read at approval (a password change or reset since then: no token, and none later).
 */
async function issueApprovedDevice(db: Database, hash: string, context: RequestContext, schedule: Schedule): Promise<DevicePollResult> {
  return db.transaction(async (tx) => {
    const [claimed] = await tx
      .update(deviceAuthorizations)
      .set({ status: "issued" })
      .where(
        and(
          eq(deviceAuthorizations.deviceCodeHash, hash),
          eq(deviceAuthorizations.status, "approved"),
          sql`${deviceAuthorizations.expiresAt} > now()`,
        ),
      )
      .returning({
        userId: deviceAuthorizations.userId,
        credentialsVersion: deviceAuthorizations.credentialsVersion,
        clientName: deviceAuthorizations.clientName,
      });
    if (!claimed?.userId || claimed.credentialsVersion === null) {
      return refused("invalid_grant", "This device code has already been used. Start again in the tool.");
    }
    const [user] = await tx.select({ email: users.email, twoFactor: hasSecondFactorSql() }).from(users).where(eq(users.id, claimed.userId));
    const session = user
      ? // In the claim's transaction (a Transaction is a Database here): the session commits with it.
        await issueBearerSession(tx as unknown as Database, {
          kind: "device",
          userId: claimed.userId,
          credentialsVersion: claimed.credentialsVersion,
          clientName: claimed.clientName,
          // Approving needed a session that passed the second factor when the account has one.
          secondFactor: user.twoFactor,
          ...context,
        })
      : null;
    // The authorization stays spent: the approval was for credentials that no longer exist.
    if (!user || !session) return refused("expired_token", "The password changed after the approval. Start again in the tool.");
    // A tool signed in is a new device: the owner hears about it, as for a new browser.
    await enqueueNewDeviceSignIn(db, tx, schedule, { userId: claimed.userId, ...context });
    return { ok: true, session, user: { id: claimed.userId, email: user.email } } as const;
  });
}

/** Deletes authorizations past their expiry (the cleanup cron); returns how many. */
export async function deleteExpiredDeviceAuthorizations(db: Database): Promise<number> {
  const deleted = await db
    .delete(deviceAuthorizations)
    .where(lt(deviceAuthorizations.expiresAt, sql`now()`))
    .returning({ id: deviceAuthorizations.id });
  return deleted.length;
}
