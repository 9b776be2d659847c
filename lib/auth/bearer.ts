import "server-only";
import { and, eq, inArray } from "drizzle-orm";
import type { Database, Transaction } from "@/db/client";
import { sessions, users } from "@/db/schema";
import { hashToken, isWellFormedToken } from "../tokens";
import { isLive, issueSignInSession, renewSession, SESSION_RENEW_AFTER_SECONDS, sessionMaxAgeSeconds, touchLastSeen } from "./sessions";

// Bearer tokens (RFC 6750) for apps and command-line tools. A token is a session row like a
// browser's cookie (256 random bits, only the SHA-256 stored, the credentials version of its
// sign-in), so every rule that ends sessions ends it in the same statement. `kind` says how the
// token is carried: an app's or device flow's token is accepted only in the Authorization
// header, a browser's only in its cookie (lib/auth/config.ts), so neither works the other way.

/** The session kinds a bearer token may belong to. */
export type BearerKind = "app" | "device";
const BEARER_KINDS: BearerKind[] = ["app", "device"];

/** The longest client name stored (sessions.client_name); longer names are cut. */
export const MAX_CLIENT_NAME_LENGTH = 100;

export interface BearerGrant {
  userId: string;
  /** users.credentials_version as read with the verified password (or when a device was approved). */
  credentialsVersion: number;
  kind: BearerKind;
  clientName: string | null;
  ip: string | null;
  userAgent: string | null;
  /** True when the sign-in passed a second factor. */
  secondFactor?: boolean;
}

export interface IssuedBearer {
  /** The raw token: goes into the answer and nowhere else. */
  accessToken: string;
  /** Seconds until the idle lifetime ends, unless the token is used (use moves it forward). */
  expiresIn: number;
  expires: Date;
}

/**
 * Stores an app's or device flow's session and returns its bearer token; null when the user's
 * credentials changed since `credentialsVersion` was read (the sign-in lost to a reset).
 */
export async function issueBearerSession(
  db: Database,
  grant: BearerGrant,
  /** Work to commit with the session (the owner's new-device email), in its transaction. */
  within?: (tx: Transaction) => Promise<void>,
): Promise<IssuedBearer | null> {
  const issued = await issueSignInSession(db, { ...grant, clientName: cleanClientName(grant.clientName) }, within);
  if (!issued) return null;
  return { accessToken: issued.sessionToken, expiresIn: secondsUntil(issued.expires), expires: issued.expires };
}

/** A bearer answer for a session token made elsewhere (the fresh session of a password change). */
export function bearerFromSession(session: { sessionToken: string; expires: Date }): IssuedBearer {
  return { accessToken: session.sessionToken, expiresIn: secondsUntil(session.expires), expires: session.expires };
}

function secondsUntil(when: Date): number {
  return Math.max(0, Math.floor((when.getTime() - Date.now()) / 1000));
}

/** The client's name as stored and shown: control characters dropped, trimmed, at most MAX_CLIENT_NAME_LENGTH. */
export function cleanClientName(name: string | null | undefined): string | null {
  if (!name) return null;
  const clean = name
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, "")
    .trim()
    .slice(0, MAX_CLIENT_NAME_LENGTH);
  return clean === "" ? null : clean;
}

/** The token answer's body (RFC 6749 5.1 names). */
export interface BearerTokenAnswer {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  user: { id: string; email: string };
}

/** The JSON body that hands a client its token. */
export function bearerTokenAnswer(issued: IssuedBearer, user: { id: string; email: string }): BearerTokenAnswer {
  return { access_token: issued.accessToken, token_type: "Bearer", expires_in: issued.expiresIn, user: { id: user.id, email: user.email } };
}

export type BearerCredentials =
  /** No Authorization header: the request carries no bearer credentials at all. */
  | { present: false }
  /** An Authorization header whose value is a well-formed bearer token. */
  | { present: true; token: string }
  /** An Authorization header that is not one well-formed bearer token (another scheme, empty, two values, garbage). */
  | { present: true; token: null };

// RFC 6750 2.1: "Bearer" 1*SP b64token. Ours are 43 base64url characters; anything else cannot
// be one of ours and is refused without a query. Two Authorization headers reach us joined by
// ", ", which never matches.
const BEARER_HEADER = /^Bearer +([A-Za-z0-9_-]{43}) *$/i;

/** What the Authorization header of `headers` carries; never throws, whatever it holds. */
export function readBearerCredentials(headers: Pick<Headers, "get">): BearerCredentials {
  const header = headers.get("authorization");
  if (header === null) return { present: false };
  const token = header.length <= 200 ? (BEARER_HEADER.exec(header)?.[1] ?? null) : null;
  return { present: true, token: token && isWellFormedToken(token) ? token : null };
}

/** The live bearer session a request authenticates as. */
export interface BearerSession {
  id: string;
  userId: string;
  kind: BearerKind;
  clientName: string | null;
  secondFactorAt: Date | null;
  expires: Date;
  /** The raw token, to end this session (sign-out). */
  token: string;
  user: { id: string; email: string };
}

export type BearerAuthentication =
  | { ok: true; session: BearerSession }
  /** No Authorization header: answer 401 with `WWW-Authenticate: Bearer` (RFC 6750 3.1: no error code). */
  | { ok: false; code: "NO_CREDENTIALS" }
  /** A malformed, unknown, expired or revoked token: 401 invalid_token. */
  | { ok: false; code: "INVALID_TOKEN" };

/**
 * Authenticates a request by its bearer token: a live app or device session (same credentials
 * version, within both lifetimes). A cookie is not looked at: when both come, the bearer wins.
 * Use moves the idle expiry forward (at most once a day) and touches last_seen_at (once a minute).
 */
export async function authenticateRequest(db: Database, headers: Pick<Headers, "get">): Promise<BearerAuthentication> {
  const credentials = readBearerCredentials(headers);
  if (!credentials.present) return { ok: false, code: "NO_CREDENTIALS" };
  if (!credentials.token) return { ok: false, code: "INVALID_TOKEN" };
  const tokenHash = hashToken(credentials.token);
  const [row] = await db
    .select({
      id: sessions.id,
      userId: sessions.userId,
      kind: sessions.kind,
      clientName: sessions.clientName,
      secondFactorAt: sessions.secondFactorAt,
      expires: sessions.expires,
      lastSeenAt: sessions.lastSeenAt,
      email: users.email,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.sessionToken, tokenHash), inArray(sessions.kind, BEARER_KINDS), isLive()));
  if (!row) return { ok: false, code: "INVALID_TOKEN" };

  let expires = row.expires;
  const renewDue = expires.getTime() - Date.now() < (sessionMaxAgeSeconds() - SESSION_RENEW_AFTER_SECONDS) * 1000;
  if (renewDue) {
    expires = (await renewSession(db, credentials.token))?.expires ?? expires;
  }
  await touchLastSeen(db, tokenHash, row.lastSeenAt);
  return {
    ok: true,
    session: {
      id: row.id,
      userId: row.userId,
      kind: row.kind as BearerKind,
      clientName: row.clientName,
      secondFactorAt: row.secondFactorAt,
      expires,
      token: credentials.token,
      user: { id: row.userId, email: row.email },
    },
  };
}
