import "server-only";
import { createHmac, hkdfSync } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "@/db/client";
import { deviceAuthorizations, sessions, users } from "@/db/schema";
import { audit, auditThrottled } from "../audit";
import { isIdentityConfirmed, type ConfirmationNeeded } from "../auth/confirm-identity";
import { isLive } from "../auth/sessions";
import { clientKey, type RequestContext } from "../client-ip";
import { env } from "../env";
import { consumeRateLimit, type RateLimit } from "../rate-limit";
import { hasSecondFactorSql } from "../second-factor/second-factors";
import { safeEqual } from "../tokens";
import { hashUserCode, normaliseUserCode } from "./codes";

// RFC 8628 from the person's side, at /device: enter the user code, see which tool asked and
// when, approve or deny. Every try at a code is counted before the look-up, per account and per
// IP, so guessing another person's code (to sign their tool in to one's own account, or to
// learn that a code exists) is capped however many tries run in parallel.

/** Tries at a user code per account (and so per session): a person mistypes a few times. */
export const DEVICE_USER_CODE_ACCOUNT_LIMIT: RateLimit = { name: "device-user-code-account", max: 10, windowSeconds: 15 * 60 };
/** Tries per client IP, across accounts: one guesser with many accounts. */
export const DEVICE_USER_CODE_IP_LIMIT: RateLimit = { name: "device-user-code-ip", max: 10, windowSeconds: 15 * 60 };

/** What /device shows before the person decides. */
export interface DeviceRequest {
  id: string;
  clientName: string;
  createdAt: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
}

export type FindDeviceRequestResult =
  | { ok: true; request: DeviceRequest }
  | { ok: false; code: "NOT_FOUND" | "EXPIRED" | "DECIDED" }
  | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

/**
 * The pending request a typed user code names, after counting the try against both limits.
 * A code of the wrong shape is counted too: the limit is on tries, not on look-ups.
 */
export async function findDeviceRequest(
  db: Database,
  input: { userId: string; userCode: string } & RequestContext,
): Promise<FindDeviceRequestResult> {
  const context = { userId: input.userId, ip: input.ip, userAgent: input.userAgent };
  for (const [limit, subject] of [
    [DEVICE_USER_CODE_ACCOUNT_LIMIT, input.userId],
    [DEVICE_USER_CODE_IP_LIMIT, clientKey(input.ip)],
  ] as const) {
    const counted = await consumeRateLimit(db, limit, subject);
    if (!counted.allowed) {
      await auditThrottled(
        db,
        { event: "device.user_code_throttled", ...context, details: { limit: limit.name } },
        counted.refusedInWindow,
      );
      return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: counted.retryAfterSeconds };
    }
  }
  const normalised = normaliseUserCode(input.userCode);
  if (!normalised) return { ok: false, code: "NOT_FOUND" };
  const [row] = await db
    .select({ ...requestColumns, status: deviceAuthorizations.status, expired: sql<boolean>`${deviceAuthorizations.expiresAt} <= now()` })
    .from(deviceAuthorizations)
    .where(eq(deviceAuthorizations.userCodeHash, hashUserCode(normalised)));
  if (!row) return { ok: false, code: "NOT_FOUND" };
  if (row.expired) return { ok: false, code: "EXPIRED" };
  if (row.status !== "pending") return { ok: false, code: "DECIDED" };
  return {
    ok: true,
    request: {
      id: row.id,
      clientName: row.clientName,
      createdAt: row.createdAt,
      expiresAt: row.expiresAt,
      ip: row.ip,
      userAgent: row.userAgent,
    },
  };
}

const requestColumns = {
  id: deviceAuthorizations.id,
  clientName: deviceAuthorizations.clientName,
  createdAt: deviceAuthorizations.createdAt,
  expiresAt: deviceAuthorizations.expiresAt,
  ip: deviceAuthorizations.ip,
  userAgent: deviceAuthorizations.userAgent,
};

// The review step's address carries the request's id and a tag binding it to the session that
// typed the code: only that session may open it, so the id alone (a link) approves nothing.
function reviewKey(): Buffer {
  return Buffer.from(hkdfSync("sha256", env().AUTH_SECRET, "rekey", "device-review", 32));
}
const tagFor = (requestId: string, sessionId: string) =>
  createHmac("sha256", reviewKey()).update(`${requestId}:${sessionId}`).digest("base64url");

/** The opaque reference to a request found by `sessionId`'s person: `<id>.<tag>`. */
export function reviewReference(requestId: string, sessionId: string): string {
  return `${requestId}.${tagFor(requestId, sessionId)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The request a review reference names, if it was made for this session and is still pending. */
export async function openDeviceReview(db: Database, reference: string, sessionId: string): Promise<DeviceRequest | null> {
  const [id, tag] = reference.split(".");
  if (!id || !tag || !UUID.test(id) || !safeEqual(tag, tagFor(id, sessionId))) return null;
  const [row] = await db
    .select(requestColumns)
    .from(deviceAuthorizations)
    .where(
      and(eq(deviceAuthorizations.id, id), eq(deviceAuthorizations.status, "pending"), sql`${deviceAuthorizations.expiresAt} > now()`),
    );
  return row ?? null;
}

export type DecideDeviceResult = { ok: true } | ConfirmationNeeded | { ok: false; code: "NOT_PENDING" };

/**
 * Approves or denies the request a review reference names, for the signed-in `userId` on
 * `sessionId`. Approving needs "Confirm it's you" on this session and, when the account has
 * two-factor on, a session that passed it. Either decision is one conditional UPDATE (pending,
 * not expired); approval binds the request to the user's current credentials version, read
 * from this live session in the same statement. Audited.
 */
export async function decideDeviceRequest(
  db: Database,
  input: { reference: string; userId: string; sessionId: string; decision: "approve" | "deny" } & RequestContext,
): Promise<DecideDeviceResult> {
  const request = await openDeviceReview(db, input.reference, input.sessionId);
  if (!request) return { ok: false, code: "NOT_PENDING" };
  if (input.decision === "approve" && !(await isIdentityConfirmed(db, { userId: input.userId, sessionId: input.sessionId }))) {
    return { ok: false, code: "CONFIRMATION_NEEDED" };
  }
  const approve = input.decision === "approve";
  const [decided] = await db
    .update(deviceAuthorizations)
    .set({
      status: approve ? "approved" : "denied",
      userId: input.userId,
      credentialsVersion: approve ? sql`${sessions.credentialsVersion}` : null,
      decidedAt: sql`now()`,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(deviceAuthorizations.id, request.id),
        eq(deviceAuthorizations.status, "pending"),
        sql`${deviceAuthorizations.expiresAt} > now()`,
        eq(sessions.id, input.sessionId),
        eq(sessions.userId, input.userId),
        isLive(),
        approve ? sql`(not ${hasSecondFactorSql()} or ${sessions.secondFactorAt} is not null)` : sql`true`,
      ),
    )
    .returning({ id: deviceAuthorizations.id });
  if (!decided) return { ok: false, code: "NOT_PENDING" };
  await audit(db, {
    event: approve ? "device.approved" : "device.denied",
    userId: input.userId,
    ip: input.ip,
    userAgent: input.userAgent,
    details: { client_name: request.clientName, requested_from: request.ip },
  });
  return { ok: true };
}
