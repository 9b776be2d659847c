import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Database } from "@/db/client";
import { passwordChangeReportTokens, sessions, users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { enrol } from "@/test-support/two-factor";
import { createUser } from "@/test-support/users";
import { endAllSessions } from "../admin/end-all-sessions";
import { signOutEverywhere } from "../admin/users";
import { reportPasswordChange } from "../recovery/wasnt-me";
import { authenticateRequest, bearerTokenAnswer, cleanClientName, issueBearerSession, readBearerCredentials } from "./bearer";
import { generateToken, hashToken } from "../tokens";
import { findSession, issueSignInSession, nextCredentialsVersion } from "./sessions";
import { deleteUserSessions } from "./user-sessions";

const TOKEN = "A".repeat(43);
const headers = (init: [string, string][]) => {
  const h = new Headers();
  for (const [name, value] of init) h.append(name, value);
  return h;
};

describe("reading the Authorization header", () => {
  it("takes a well-formed bearer token, the scheme in any case", () => {
    expect(readBearerCredentials(headers([["authorization", `Bearer ${TOKEN}`]]))).toEqual({ present: true, token: TOKEN });
    expect(readBearerCredentials(headers([["authorization", `bearer ${TOKEN}`]]))).toEqual({ present: true, token: TOKEN });
  });

  it("says no credentials when there is no Authorization header", () => {
    expect(readBearerCredentials(headers([]))).toEqual({ present: false });
  });

  it.each([
    ["the scheme alone", "Bearer"],
    ["the scheme and a space", "Bearer "],
    ["the scheme and many spaces", `Bearer ${" ".repeat(50)}`],
    ["10 kB of garbage", "Bearer " + "\u00ff#%".repeat(3400)],
    ["a token one character short", `Bearer ${TOKEN.slice(1)}`],
    ["a token with a character outside base64url", `Bearer ${TOKEN.slice(1)}=`],
    ["another scheme", `Basic ${TOKEN}`],
    ["the token without a scheme", TOKEN],
    ["two tokens", `Bearer ${TOKEN} ${TOKEN}`],
    ["an empty header", ""],
  ])("refuses %s as an invalid token, without throwing", (_label, value) => {
    expect(readBearerCredentials(headers([["authorization", value]]))).toEqual({ present: true, token: null });
  });

  it("refuses two Authorization headers, even with one good token each", () => {
    const two = headers([
      ["authorization", `Bearer ${TOKEN}`],
      ["authorization", `Bearer ${TOKEN}`],
    ]);
    expect(readBearerCredentials(two)).toEqual({ present: true, token: null });
  });
});

describe("cleaning a client name", () => {
  it("drops control characters, trims, cuts at 100 characters, and makes an empty name null", () => {
    expect(cleanClientName("  My CLI\u0000\n ")).toBe("My CLI");
    expect(cleanClientName("x".repeat(300))).toHaveLength(100);
    expect(cleanClientName(" \t ")).toBeNull();
    expect(cleanClientName(undefined)).toBeNull();
  });
});

async function appToken(db: Database, user: { id: string }, options: { secondFactor?: boolean } = {}) {
  const [row] = await db.select({ v: users.credentialsVersion }).from(users).where(eq(users.id, user.id));
  const issued = await issueBearerSession(db, {
    userId: user.id,
    credentialsVersion: row!.v,
    kind: "app",
    clientName: "Test CLI",
    ip: "203.0.113.9",
    userAgent: "rekey-cli/1.0",
    secondFactor: options.secondFactor ?? false,
  });
  if (!issued) throw new Error("no token issued");
  return issued;
}

const bearer = (token: string) => headers([["authorization", `Bearer ${token}`]]);

describeEachDatabase("bearer sessions", ({ handle }) => {
  const db = () => handle().db;

  it("issues an opaque token stored only as its hash, as an app session with its client name", async () => {
    const user = await createUser(db());
    const issued = await appToken(db(), user);
    expect(issued.accessToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(issued.expiresIn).toBeGreaterThan(0);
    const rows = await db().select().from(sessions).where(eq(sessions.userId, user.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.sessionToken).not.toContain(issued.accessToken);
    expect(rows[0]!.kind).toBe("app");
    expect(rows[0]!.clientName).toBe("Test CLI");
    expect(bearerTokenAnswer(issued, user)).toEqual({
      access_token: issued.accessToken,
      token_type: "Bearer",
      expires_in: issued.expiresIn,
      user: { id: user.id, email: user.email },
    });
  });

  it("issues nothing when the credentials version moved on", async () => {
    const user = await createUser(db());
    const [row] = await db().select({ v: users.credentialsVersion }).from(users).where(eq(users.id, user.id));
    await db().update(users).set({ credentialsVersion: nextCredentialsVersion() }).where(eq(users.id, user.id));
    const issued = await issueBearerSession(db(), {
      userId: user.id,
      credentialsVersion: row!.v,
      kind: "app",
      clientName: null,
      ip: null,
      userAgent: null,
    });
    expect(issued).toBeNull();
  });

  it("authenticates a live token, and the bearer wins over a cookie sent with it", async () => {
    const user = await createUser(db());
    const issued = await appToken(db(), user);
    const result = await authenticateRequest(db(), bearer(issued.accessToken));
    expect(result).toMatchObject({
      ok: true,
      session: { userId: user.id, kind: "app", clientName: "Test CLI", user: { email: user.email } },
    });
    const both = headers([
      ["authorization", `Bearer ${issued.accessToken}`],
      ["cookie", "authjs.session-token=someone-elses"],
    ]);
    expect(await authenticateRequest(db(), both)).toMatchObject({ ok: true, session: { userId: user.id } });
  });

  it("answers no credentials without a header and invalid_token for a bad one", async () => {
    expect(await authenticateRequest(db(), headers([]))).toEqual({ ok: false, code: "NO_CREDENTIALS" });
    expect(await authenticateRequest(db(), headers([["authorization", "Bearer "]]))).toEqual({ ok: false, code: "INVALID_TOKEN" });
    expect(await authenticateRequest(db(), bearer(TOKEN))).toEqual({ ok: false, code: "INVALID_TOKEN" });
  });

  it("refuses an expired token and one past the absolute lifetime", async () => {
    const user = await createUser(db());
    const expired = await appToken(db(), user);
    const old = await appToken(db(), user);
    await db()
      .update(sessions)
      .set({ expires: sql`now() - interval '1 second'` })
      .where(eq(sessions.sessionToken, hashToken(expired.accessToken)));
    await db()
      .update(sessions)
      .set({ createdAt: sql`now() - interval '400 days'` })
      .where(eq(sessions.sessionToken, hashToken(old.accessToken)));
    expect(await authenticateRequest(db(), bearer(expired.accessToken))).toEqual({ ok: false, code: "INVALID_TOKEN" });
    expect(await authenticateRequest(db(), bearer(old.accessToken))).toEqual({ ok: false, code: "INVALID_TOKEN" });
  });

  it("moves a used token's idle expiry forward", async () => {
    const user = await createUser(db());
    const issued = await appToken(db(), user);
    await db()
      .update(sessions)
      .set({ expires: sql`now() + interval '1 day'` })
      .where(eq(sessions.userId, user.id));
    const result = await authenticateRequest(db(), bearer(issued.accessToken));
    expect(result.ok && result.session.expires.getTime()).toBeGreaterThan(Date.now() + 5 * 86_400_000);
  });

  it("keeps the two carriers apart: an app token is no cookie, a browser cookie no bearer token", async () => {
    const user = await createUser(db());
    const issued = await appToken(db(), user);
    expect(await findSession(db(), issued.accessToken)).toBeNull();
    const [row] = await db().select({ v: users.credentialsVersion }).from(users).where(eq(users.id, user.id));
    const browser = await issueSignInSession(db(), { userId: user.id, credentialsVersion: row!.v, ip: null, userAgent: null });
    expect(await authenticateRequest(db(), bearer(browser!.sessionToken))).toEqual({ ok: false, code: "INVALID_TOKEN" });
  });

  it("ends with every rule that ends sessions: a credentials change, ending all sessions, an admin's sign-out", async () => {
    const user = await createUser(db());
    const a = await appToken(db(), user);
    await db().update(users).set({ credentialsVersion: nextCredentialsVersion() }).where(eq(users.id, user.id));
    expect(await authenticateRequest(db(), bearer(a.accessToken))).toEqual({ ok: false, code: "INVALID_TOKEN" });

    const b = await appToken(db(), user);
    await deleteUserSessions(db(), user.id);
    expect(await authenticateRequest(db(), bearer(b.accessToken))).toEqual({ ok: false, code: "INVALID_TOKEN" });

    const c = await appToken(db(), user);
    await signOutEverywhere(db(), user.id, { adminId: user.id, ip: null, userAgent: null });
    expect(await authenticateRequest(db(), bearer(c.accessToken))).toEqual({ ok: false, code: "INVALID_TOKEN" });
  });

  it('ends with "This wasn\'t me" and with an operator ending every session', async () => {
    const user = await createUser(db());
    const a = await appToken(db(), user);
    const report = generateToken();
    await db()
      .insert(passwordChangeReportTokens)
      .values({ userId: user.id, tokenHash: report.hash, expiresAt: new Date(Date.now() + 3_600_000) });
    const reported = await reportPasswordChange(db(), report.token, { ip: null, userAgent: null }, () => {});
    expect(reported.ok).toBe(true);
    expect(await authenticateRequest(db(), bearer(a.accessToken))).toEqual({ ok: false, code: "INVALID_TOKEN" });

    const other = await createUser(db());
    const b = await appToken(db(), other);
    await endAllSessions(db(), { via: "script", operator: "test", host: "test" });
    expect(await authenticateRequest(db(), bearer(b.accessToken))).toEqual({ ok: false, code: "INVALID_TOKEN" });
  });

  it("turning two-factor on ends a password-only app session and keeps one that passed a second factor", async () => {
    const user = await createUser(db());
    const passwordOnly = await appToken(db(), user);
    const withCode = await appToken(db(), user, { secondFactor: true });
    await enrol(db(), user);
    expect(await authenticateRequest(db(), bearer(passwordOnly.accessToken))).toEqual({ ok: false, code: "INVALID_TOKEN" });
    expect(await authenticateRequest(db(), bearer(withCode.accessToken))).toMatchObject({ ok: true });
  });
});
