import "server-only";
import { randomBytes } from "node:crypto";
import { and, eq, gt, lt, or, sql, type SQL } from "drizzle-orm";
import type { Database, Transaction } from "@/db/client";
import { sessions, users } from "@/db/schema";
import { audit } from "../audit";
import { env } from "../env";
import { isHttpsOrigin } from "../security-headers";
import { hashToken } from "../tokens";
import { sessionCookieName } from "./cookie-names";

// Why sessions record a credentials version: a sign-in reads the password hash, spends ~10 ms
// in argon2, then stores its session. A reset, a password change or "This wasn't me" that
// commits in between deletes the user's sessions before that row exists, so deleting rows
// alone cannot end it. Instead each of those changes raises users.credentials_version in the
// same UPDATE that changes the credentials; a session row records the version its password
// check read (in the same SELECT as the hash), and a session is live only while the two are
// equal. The check at read time is what holds under every interleaving: even a conditional
// insert can commit from a snapshot taken just before the change. The conditional insert
// (createSession) adds that a sign-in which lost the race answers as a wrong password instead
// of handing out a cookie that is already dead. Ending every session is then one UPDATE.

/** How often `last_seen_at` is written: at most once a minute per session, not per request. */
export const LAST_SEEN_RESOLUTION_MS = 60_000;

/** A live session's expiry moves forward (and its cookie is re-issued) at most once a day. */
export const SESSION_RENEW_AFTER_SECONDS = 24 * 60 * 60;

/** Idle lifetime: a session unused this long ends (to within SESSION_RENEW_AFTER_SECONDS). */
export function sessionMaxAgeSeconds(): number {
  return env().SESSION_MAX_AGE_DAYS * 24 * 60 * 60;
}

const idleLifetime = (): SQL => sql`make_interval(days => ${env().SESSION_MAX_AGE_DAYS})`;
const absoluteLifetime = (): SQL => sql`make_interval(days => ${env().SESSION_ABSOLUTE_MAX_AGE_DAYS})`;

/**
 * The new value of users.credentials_version for an UPDATE that changes a user's credentials:
 * every session issued before it, including one whose sign-in is still in flight, stops being
 * live when that UPDATE commits.
 */
export function nextCredentialsVersion(): SQL<number> {
  return sql<number>`${users.credentialsVersion} + 1`;
}

/** A session row (joined with its user) that may be used: same credentials, within both lifetimes. */
export function isLive(): SQL {
  return and(
    eq(sessions.credentialsVersion, users.credentialsVersion),
    gt(sessions.expires, sql`now()`),
    // Expiries are capped at the absolute lifetime already; this also ends older sessions at
    // once when SESSION_ABSOLUTE_MAX_AGE_DAYS is lowered.
    gt(sessions.createdAt, sql`now() - ${absoluteLifetime()}`),
  ) as SQL;
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

/** What the credential check that earns a session tells about it. */
export interface SessionGrant {
  userId: string;
  /** users.credentials_version as read together with the password hash that was verified. */
  credentialsVersion: number;
  userAgent: string | null;
  ip: string | null;
  /** True when the sign-in also passed a second factor (lib/second-factor/). */
  secondFactor?: boolean;
  /** When an earlier session passed it, for a session that carries its mark over (a password change): else now. */
  secondFactorAt?: Date | null;
  /** How the token is carried (sessions.kind): the cookie (default), an app's or a device flow's bearer token. */
  kind?: "browser" | "app" | "device";
  /** The client's own name, for an app or device session. */
  clientName?: string | null;
  /** "passkey": signed in with a passkey alone (user verification passed, no password checked). */
  method?: "password" | "passkey";
}

/**
 * Creates a session row and returns the raw token for the cookie (only its SHA-256 is
 * stored), or null when the user's credentials changed since `credentialsVersion` was read.
 */
export async function createSession(
  db: Database | Transaction,
  grant: SessionGrant,
): Promise<{ sessionToken: string; id: string; expires: Date } | null> {
  const sessionToken = randomBytes(32).toString("base64url");
  // INSERT ... SELECT FROM users WHERE credentials_version = $v: a row only for current credentials.
  const [row] = await db
    .insert(sessions)
    .select((qb) =>
      qb
        .select({
          sessionToken: sql<string>`${hashToken(sessionToken)}::text`.as("session_token_hash"),
          id: sql<string>`gen_random_uuid()`.as("id"),
          userId: users.id,
          expires: sql<Date>`now() + ${idleLifetime()}`.as("expires_at"),
          createdAt: sql<Date>`now()`.as("created_at"),
          lastSeenAt: sql<Date>`now()`.as("last_seen_at"),
          userAgent: sql<string | null>`${grant.userAgent}::text`.as("user_agent"),
          ip: sql<string | null>`${grant.ip}::text`.as("ip"),
          credentialsVersion: users.credentialsVersion,
          // A sign-in is a password check ("Confirm it's you" counts from it, lib/auth/confirm-identity.ts);
          // a device-flow session's tool never saw the password, nor did a passkey sign-in, so they have none.
          passwordCheckedAt:
            sql<Date | null>`${grant.kind === "device" || grant.method === "passkey" ? sql`null` : sql`now()`}::timestamptz`.as(
              "password_checked_at",
            ),
          secondFactorAt:
            sql<Date | null>`${grant.secondFactor ? (grant.secondFactorAt ? grant.secondFactorAt.toISOString() : sql`now()`) : sql`null`}::timestamptz`.as(
              "second_factor_at",
            ),
          kind: sql<"browser" | "app" | "device">`${grant.kind ?? "browser"}::text`.as("kind"),
          clientName: sql<string | null>`${grant.clientName ?? null}::text`.as("client_name"),
        })
        .from(users)
        .where(and(eq(users.id, grant.userId), eq(users.credentialsVersion, grant.credentialsVersion))),
    )
    .returning({ id: sessions.id, expires: sessions.expires });
  if (!row) return null;
  return { sessionToken, id: row.id, expires: row.expires };
}

/**
 * The session a successful sign-in earned, audited; null when the password it checked stopped
 * being current before the session could be stored (the caller answers as for a wrong password).
 */
export async function issueSignInSession(
  db: Database,
  grant: SessionGrant,
  /** Work to commit with the session (the owner's new-device email), run in its transaction. */
  within?: (tx: Transaction) => Promise<void>,
): Promise<{ sessionToken: string; expires: Date } | null> {
  if (!within) return storeSignInSession(db, grant);
  return db.transaction(async (tx) => {
    const issued = await storeSignInSession(tx, grant);
    if (issued) await within(tx);
    return issued;
  });
}

async function storeSignInSession(
  db: Database | Transaction,
  grant: SessionGrant,
): Promise<{ sessionToken: string; expires: Date } | null> {
  const created = await createSession(db, grant);
  const context = { userId: grant.userId, ip: grant.ip, userAgent: grant.userAgent };
  if (!created) {
    await audit(db, { event: "user.sign_in_failed", ...context, details: { reason: "credentials_changed" } });
    return null;
  }
  const details = {
    ...(grant.secondFactor ? { second_factor: true } : {}),
    ...(grant.kind && grant.kind !== "browser" ? { kind: grant.kind } : {}),
    ...(grant.method === "passkey" ? { method: "passkey" } : {}),
  };
  await audit(db, { event: "user.signed_in", ...context, ...(Object.keys(details).length > 0 ? { details } : {}) });
  return { sessionToken: created.sessionToken, expires: created.expires };
}

/**
 * The live browser session and its user for a raw cookie token, or null (an app's or device
 * flow's token works only as a bearer token, lib/auth/bearer.ts). Touches `last_seen_at` when
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
    .where(and(eq(sessions.sessionToken, tokenHash), eq(sessions.kind, "browser"), isLive()));
  if (!row) return null;
  await touchLastSeen(db, tokenHash, row.lastSeenAt);
  return {
    session: { id: row.id, sessionToken, userId: row.userId, expires: row.expires },
    user: { id: row.userId, email: row.email, name: row.name, emailVerified: row.emailVerified },
  };
}

/** Writes `last_seen_at` of the session with this token hash when it is older than LAST_SEEN_RESOLUTION_MS. */
export async function touchLastSeen(db: Database, tokenHash: string, lastSeenAt: Date): Promise<void> {
  if (Date.now() - lastSeenAt.getTime() <= LAST_SEEN_RESOLUTION_MS) return;
  await db
    .update(sessions)
    .set({ lastSeenAt: sql`now()` })
    .where(eq(sessions.sessionToken, tokenHash));
}

/**
 * Moves a live session's expiry to a full idle lifetime from now, capped at its absolute
 * lifetime, when that gains more than SESSION_RENEW_AFTER_SECONDS; returns the new expiry
 * (for the cookie), or null when the session is not live or not due.
 */
export async function renewSession(db: Database, sessionToken: string): Promise<{ expires: Date } | null> {
  const renewed = sql`least(now() + ${idleLifetime()}, "sessions"."created_at" + ${absoluteLifetime()})`;
  const [row] = await db
    .update(sessions)
    .set({ expires: sql`${renewed}` })
    .from(users)
    .where(
      and(
        eq(sessions.sessionToken, hashToken(sessionToken)),
        eq(users.id, sessions.userId),
        isLive(),
        sql`${sessions.expires} < ${renewed} - make_interval(secs => ${SESSION_RENEW_AFTER_SECONDS})`,
      ),
    )
    .returning({ expires: sessions.expires });
  return row ?? null;
}

/**
 * For a page request carrying a session cookie: renews the session when due and returns the
 * cookie to set again. Pages and proxy.ts cannot use the refreshed cookie Auth.js produces,
 * so without this every cookie would die one idle lifetime after sign-in, however active.
 */
export async function renewSessionCookie(db: Database, sessionToken: string): Promise<ReturnType<typeof sessionCookie> | null> {
  const renewed = await renewSession(db, sessionToken);
  return renewed ? sessionCookie(sessionToken, renewed.expires) : null;
}

/** Ends the session a raw cookie token belongs to (sign-out). */
export async function deleteSessionByToken(db: Database, sessionToken: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.sessionToken, hashToken(sessionToken)));
}

/** Deletes sessions that can no longer be used (expired, too old, or for old credentials); returns how many. */
export async function deleteExpiredSessions(db: Database): Promise<number> {
  const deleted = await db
    .delete(sessions)
    .where(
      or(
        lt(sessions.expires, sql`now()`),
        lt(sessions.createdAt, sql`now() - ${absoluteLifetime()}`),
        sql`${sessions.credentialsVersion} <> (select ${users.credentialsVersion} from ${users} where ${users.id} = ${sessions.userId})`,
      ),
    )
    .returning({ id: sessions.id });
  return deleted.length;
}
