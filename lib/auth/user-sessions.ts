import "server-only";
import { and, desc, eq, ne, sql, type SQL } from "drizzle-orm";
import type { Database, Transaction } from "@/db/client";
import { sessions, users } from "@/db/schema";
import { audit } from "../audit";
import { hasPasskeySql } from "../second-factor/second-factors";
import { isLive } from "./sessions";

/** What the account API tells about its owner. */
export interface AccountSummary {
  id: string;
  email: string;
  emailVerified: boolean;
  twoFactorEnabled: boolean;
  /** At least one passkey: a second factor like two-factor. */
  passkeys: boolean;
  createdAt: Date;
}

/** The account `userId` as GET /api/v1/me shows it, or null when it is gone. */
export async function accountSummary(db: Database, userId: string): Promise<AccountSummary | null> {
  const [row] = await db
    .select({
      id: users.id,
      email: users.email,
      emailVerified: users.emailVerified,
      twoFactorEnabledAt: users.twoFactorEnabledAt,
      passkeys: hasPasskeySql(),
      createdAt: users.createdAt,
    })
    .from(users)
    .where(eq(users.id, userId));
  if (!row) return null;
  const { twoFactorEnabledAt, emailVerified, ...rest } = row;
  return { ...rest, emailVerified: emailVerified !== null, twoFactorEnabled: twoFactorEnabledAt !== null };
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

/** Deleting every session of a user as SQL returning their ids (a CTE body); `when` (boolean SQL) makes it conditional. */
export function deleteUserSessionsSql(userId: string, when: SQL = sql`true`): SQL {
  return sql`delete from ${sessions} where ${sessions.userId} = ${userId} and ${when} returning id`;
}

/** One of a user's sessions as the sessions page shows it: never the token or its hash. */
export interface UserSession {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expires: Date;
  userAgent: string | null;
  ip: string | null;
  /** When its sign-in passed a second factor; null for a password-only sign-in. */
  secondFactorAt: Date | null;
  /** How its token is carried: a browser's cookie, an app's or a device flow's bearer token. */
  kind: "browser" | "app" | "device";
  /** The name an app or command-line tool gave itself; null for a browser. */
  clientName: string | null;
}

/** A user's live sessions, most recently active first. */
export async function listUserSessions(db: Database, userId: string): Promise<UserSession[]> {
  return db
    .select({
      id: sessions.id,
      createdAt: sessions.createdAt,
      lastSeenAt: sessions.lastSeenAt,
      expires: sessions.expires,
      userAgent: sessions.userAgent,
      ip: sessions.ip,
      secondFactorAt: sessions.secondFactorAt,
      kind: sessions.kind,
      clientName: sessions.clientName,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.userId, userId), isLive()))
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

/** When the user's session `sessionId` last passed a second factor; null when it never did. */
export async function sessionSecondFactorAt(db: Database | Transaction, userId: string, sessionId: string): Promise<Date | null> {
  if (!SESSION_ID.test(sessionId)) return null;
  const [row] = await db
    .select({ at: sessions.secondFactorAt })
    .from(sessions)
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId)));
  return row?.at ?? null;
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
