import "server-only";
import { randomBytes } from "node:crypto";
import { and, desc, eq, gt, lt, ne, sql } from "drizzle-orm";
import type { Database, Transaction } from "@/db/client";
import { sessions, users } from "@/db/schema";
import { audit } from "../audit";
import { env } from "../env";
import { isHttpsOrigin } from "../security-headers";
import { hashToken } from "../tokens";
import { sessionCookieName } from "./cookie-names";

/** How often `last_seen_at` is written: at most once a minute per session, not per request. */
export const LAST_SEEN_RESOLUTION_MS = 60_000;

export function sessionMaxAgeSeconds(): number {
  return env().SESSION_MAX_AGE_DAYS * 24 * 60 * 60;
}

/** The cookie that carries a session token: the name and options Auth.js itself uses. */
export function sessionCookie(sessionToken: string, expires: Date) {
  const secure = isHttpsOrigin(env().APP_URL);
  return {
    name: sessionCookieName(),
    value: sessionToken,
    options: { httpOnly: true, sameSite: "lax" as const, path: "/", secure, expires },
  };
}

/** What a signed-in request knows about its user: never the password hash. */
export interface SessionUser {
  id: string;
  email: string;
  name: string | null;
  emailVerified: Date | null;
}

/**
 * Creates a session row and returns the raw token for the cookie. Only its SHA-256 is
 * stored, like every other token here.
 */
export async function createSession(
  db: Database | Transaction,
  input: { userId: string; userAgent: string | null; ip: string | null },
): Promise<{ sessionToken: string; id: string; expires: Date }> {
  const sessionToken = randomBytes(32).toString("base64url");
  const expires = new Date(Date.now() + sessionMaxAgeSeconds() * 1000);
  const [row] = await db
    .insert(sessions)
    .values({ sessionToken: hashToken(sessionToken), userId: input.userId, expires, userAgent: input.userAgent, ip: input.ip })
    .returning({ id: sessions.id });
  if (!row) throw new Error("session insert returned no row");
  return { sessionToken, id: row.id, expires };
}

/**
 * The live session and its user for a raw cookie token, or null. Touches `last_seen_at` when
 * it is older than LAST_SEEN_RESOLUTION_MS.
 */
export async function findSession(
  db: Database,
  sessionToken: string,
): Promise<{ session: { id: string; sessionToken: string; userId: string; expires: Date }; user: SessionUser } | null> {
  const tokenHash = hashToken(sessionToken);
  const [row] = await db
    .select({
      id: sessions.id,
      userId: sessions.userId,
      expires: sessions.expires,
      lastSeenAt: sessions.lastSeenAt,
      email: users.email,
      name: users.name,
      emailVerified: users.emailVerified,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.sessionToken, tokenHash), gt(sessions.expires, sql`now()`)));
  if (!row) return null;
  if (Date.now() - row.lastSeenAt.getTime() > LAST_SEEN_RESOLUTION_MS) {
    await db.update(sessions).set({ lastSeenAt: sql`now()` }).where(eq(sessions.sessionToken, tokenHash));
  }
  return {
    session: { id: row.id, sessionToken, userId: row.userId, expires: row.expires },
    user: { id: row.userId, email: row.email, name: row.name, emailVerified: row.emailVerified },
  };
}

/** Moves a session's expiry (Auth.js rolling sessions). */
export async function extendSession(db: Database, sessionToken: string, expires: Date): Promise<void> {
  await db.update(sessions).set({ expires }).where(eq(sessions.sessionToken, hashToken(sessionToken)));
}

/** Ends the session a raw cookie token belongs to (sign-out). */
export async function deleteSessionByToken(db: Database, sessionToken: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.sessionToken, hashToken(sessionToken)));
}

/** Ends every session of a user, or every one but `exceptSessionId`; returns how many ended. */
export async function deleteUserSessions(
  db: Database | Transaction,
  userId: string,
  options: { exceptSessionId?: string } = {},
): Promise<number> {
  const condition = options.exceptSessionId
    ? and(eq(sessions.userId, userId), ne(sessions.id, options.exceptSessionId))
    : eq(sessions.userId, userId);
  const deleted = await db.delete(sessions).where(condition).returning({ id: sessions.id });
  return deleted.length;
}

/** One of a user's sessions as the sessions page shows it: never the token or its hash. */
export interface UserSession {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expires: Date;
  userAgent: string | null;
  ip: string | null;
}

/** A user's unexpired sessions, most recently active first. */
export async function listUserSessions(db: Database, userId: string): Promise<UserSession[]> {
  return db
    .select({
      id: sessions.id,
      createdAt: sessions.createdAt,
      lastSeenAt: sessions.lastSeenAt,
      expires: sessions.expires,
      userAgent: sessions.userAgent,
      ip: sessions.ip,
    })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), gt(sessions.expires, sql`now()`)))
    .orderBy(desc(sessions.lastSeenAt), desc(sessions.createdAt), sessions.id);
}

// The canonical form the page posts. Anything else must not reach the query: PostgreSQL
// raises on a malformed uuid instead of matching nothing, and that would be a 500.
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Ends one session of `userId` by its public id; true when one ended. Another user's session
 * id, an unknown id and a malformed one all give false.
 */
export async function revokeUserSession(db: Database | Transaction, userId: string, sessionId: string): Promise<boolean> {
  if (!SESSION_ID.test(sessionId)) return false;
  const deleted = await db
    .delete(sessions)
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId)))
    .returning({ id: sessions.id });
  return deleted.length > 0;
}

/** Who asked for a session to end, for the audit log. */
export interface SessionRequest {
  userId: string;
  ip: string | null;
  userAgent: string | null;
}

/** The signed-in user ends one of their sessions from the sessions page; true when one ended. */
export async function signOutSession(db: Database, input: SessionRequest & { sessionId: string }): Promise<boolean> {
  const ended = await revokeUserSession(db, input.userId, input.sessionId);
  if (ended) {
    await audit(db, {
      event: "sessions.revoked",
      userId: input.userId,
      ip: input.ip,
      userAgent: input.userAgent,
      details: { count: 1, reason: "user_signed_out_one" },
    });
  }
  return ended;
}

/** The signed-in user ends every session but the current one; returns how many ended. */
export async function signOutOtherSessions(db: Database, input: SessionRequest & { currentSessionId: string }): Promise<number> {
  // Without a valid id to keep, deleteUserSessions would end this session too.
  if (!SESSION_ID.test(input.currentSessionId)) throw new Error("signOutOtherSessions needs the current session's id");
  const count = await deleteUserSessions(db, input.userId, { exceptSessionId: input.currentSessionId });
  if (count > 0) {
    await audit(db, {
      event: "sessions.revoked",
      userId: input.userId,
      ip: input.ip,
      userAgent: input.userAgent,
      details: { count, reason: "user_signed_out_others" },
    });
  }
  return count;
}

/** Deletes sessions past their expiry; returns how many. */
export async function deleteExpiredSessions(db: Database): Promise<number> {
  const deleted = await db.delete(sessions).where(lt(sessions.expires, sql`now()`)).returning({ id: sessions.id });
  return deleted.length;
}
