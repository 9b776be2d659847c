import { and, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import {
  accountDeletionCancelTokens,
  auditEvents,
  emailChangeTokens,
  emailChangeUndoTokens,
  passkeys,
  passwordResetTokens,
  sessions,
  users,
} from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { CHROME_ON_WINDOWS, uniqueIp } from "@/test-support/reset-helpers";
import { insertSession } from "@/test-support/sessions";
import { enrol } from "@/test-support/two-factor";
import { createUser, uniqueEmail } from "@/test-support/users";
import { issueBearerSession } from "../auth/bearer";
import { normalizeRecoveryCode } from "../second-factor/recovery-codes";
import { generateToken } from "../tokens";
import { exportAccount, type AccountExport } from "./export";

const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });
const inAnHour = sql`now() + interval '1 hour'`;

/**
 * Every value of the user's rows that must never leave the server: each text column whose name
 * says hash, secret or token, in every table with the user's id (found from the catalogue, so a
 * table or column added later is scanned too).
 */
async function storedSecrets(db: Database, userId: string): Promise<string[]> {
  const columns = await db.execute(sql`
    select c.table_name, c.column_name, case when c.table_name = 'users' then 'id' else 'user_id' end as owner
    from information_schema.columns c
    where c.table_schema = 'public' and c.data_type = 'text'
      and (c.column_name like '%hash%' or c.column_name like '%secret%' or c.column_name like '%token%')
      and exists (select 1 from information_schema.columns o where o.table_schema = 'public' and o.table_name = c.table_name
        and o.column_name = case when c.table_name = 'users' then 'id' else 'user_id' end)`);
  const values: string[] = [];
  for (const { table_name, column_name, owner } of rowsOf<{ table_name: string; column_name: string; owner: string }>(columns)) {
    const found = await db.execute(
      sql`select ${sql.identifier(column_name)} as value from ${sql.identifier(table_name)} where ${sql.identifier(owner)} = ${userId}`,
    );
    for (const { value } of rowsOf<{ value: string | null }>(found)) if (value) values.push(value);
  }
  return values;
}

// postgres.js answers an array, PGlite an object with rows.
function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

describeEachDatabase("data export", ({ handle }) => {
  const db = () => handle().db;

  /** A user with two-factor on, a browser session that just passed it, and an app's session. */
  async function personWithEverything() {
    const user = await createUser(db(), { name: "Ada Example" });
    const browser = await insertSession(db(), { userId: user.id, userAgent: CHROME_ON_WINDOWS, ip: "203.0.113.7", secondFactor: true });
    const { key, codes } = await enrol(db(), user, { sessionId: browser.id });
    const [version] = await db().select({ v: users.credentialsVersion }).from(users).where(eq(users.id, user.id));
    const app = await issueBearerSession(db(), {
      userId: user.id,
      credentialsVersion: version!.v,
      kind: "app",
      clientName: "Rekey CLI on build-box",
      ip: "198.51.100.9",
      userAgent: "rekey-cli/1.0",
      secondFactor: true,
    });
    if (!app) throw new Error("no app session");
    const links = { reset: generateToken(), change: generateToken(), undo: generateToken(), cancel: generateToken() };
    const newEmail = uniqueEmail("new");
    await db().insert(passwordResetTokens).values({ userId: user.id, tokenHash: links.reset.hash, expiresAt: inAnHour });
    await db().insert(emailChangeTokens).values({ userId: user.id, tokenHash: links.change.hash, expiresAt: inAnHour, newEmail });
    await db()
      .insert(emailChangeUndoTokens)
      .values({ userId: user.id, tokenHash: links.undo.hash, expiresAt: inAnHour, oldEmail: uniqueEmail("old"), newEmail: user.email });
    await db().insert(accountDeletionCancelTokens).values({ userId: user.id, tokenHash: links.cancel.hash, expiresAt: inAnHour });
    const [passkey] = await db()
      .insert(passkeys)
      .values({
        userId: user.id,
        name: "Work laptop",
        credentialId: generateToken().token,
        publicKey: generateToken().token + generateToken().token,
        addedCredentialsVersion: version!.v,
        deviceType: "multiDevice",
        backedUp: true,
      })
      .returning();
    return { user, browser, app, key, codes, links, newEmail, passkey: passkey! };
  }

  it("holds every field of the account, its sessions, its audit events, two-factor status and the pending email change", async () => {
    const { user, browser, app, newEmail, passkey } = await personWithEverything();
    const ctx = context();

    const result = await exportAccount(db(), { userId: user.id, sessionId: browser.id, ...ctx });

    if (!result.ok) throw new Error(result.code);
    const data: AccountExport = result.data;
    expect(Object.keys(data).sort()).toEqual(
      ["account", "audit_events", "exported_at", "format", "passkeys", "pending_email_change", "sessions", "two_factor", "version"].sort(),
    );
    expect(data.format).toBe("rekey.account-export");
    expect(data.version).toBe(1);
    const [row] = await db().select().from(users).where(eq(users.id, user.id));
    expect(data.account).toEqual({
      id: user.id,
      email: user.email,
      name: "Ada Example",
      created_at: row!.createdAt.toISOString(),
      email_verified_at: row!.emailVerified!.toISOString(),
      password_changed_at: row!.passwordChangedAt!.toISOString(),
      password_reset_forced_at: null,
      credentials_version: row!.credentialsVersion,
      deletion_requested_at: null,
    });
    expect(data.two_factor).toEqual({ enabled: true, enabled_at: row!.twoFactorEnabledAt!.toISOString(), recovery_codes_left: 10 });
    expect(data.passkeys).toEqual([
      {
        id: passkey.id,
        name: "Work laptop",
        created_at: passkey.createdAt.toISOString(),
        last_used_at: null,
        device_type: "multiDevice",
        backed_up: true,
      },
    ]);
    expect(data.pending_email_change).toMatchObject({ new_email: newEmail });
    expect(new Date(data.pending_email_change!.expires_at).getTime()).toBeGreaterThan(Date.now());

    expect(data.sessions).toHaveLength(2);
    const [appRow] = await db()
      .select()
      .from(sessions)
      .where(and(eq(sessions.userId, user.id), eq(sessions.kind, "app")));
    const mine = data.sessions.find((s) => s.current)!;
    expect(mine).toMatchObject({ id: browser.id, kind: "browser", client_name: null, ip: "203.0.113.7", user_agent: CHROME_ON_WINDOWS });
    expect(mine.second_factor_at).not.toBeNull();
    expect(data.sessions.find((s) => !s.current)).toEqual({
      id: appRow!.id,
      kind: "app",
      client_name: "Rekey CLI on build-box",
      current: false,
      created_at: appRow!.createdAt.toISOString(),
      last_seen_at: appRow!.lastSeenAt.toISOString(),
      expires_at: app.expires.toISOString(),
      ip: "198.51.100.9",
      user_agent: "rekey-cli/1.0",
      second_factor_at: appRow!.secondFactorAt!.toISOString(),
    });

    const stored = await db().select().from(auditEvents).where(eq(auditEvents.userId, user.id));
    expect(data.audit_events.map((e) => e.event)).toEqual(expect.arrayContaining(["two_factor.enabled", "account.exported"]));
    expect(data.audit_events).toHaveLength(stored.length);
    const exported = data.audit_events.find((e) => e.event === "account.exported")!;
    expect(exported).toEqual({ event: "account.exported", at: expect.any(String), ip: ctx.ip, user_agent: CHROME_ON_WINDOWS, details: {} });
  });

  it("never holds a password hash, a token or its hash, a TOTP secret, a recovery code or a passkey's credential id or key", async () => {
    const { user, browser, app, key, codes, links, passkey } = await personWithEverything();
    // Half-way through a new enrolment too: the pending secret is a secret as well.
    await db().update(users).set({ twoFactorPendingSecret: "sealed-pending-secret-value" }).where(eq(users.id, user.id));

    const result = await exportAccount(db(), { userId: user.id, sessionId: browser.id, ...context() });

    if (!result.ok) throw new Error(result.code);
    const json = JSON.stringify(result.data);
    const secrets = [
      ...(await storedSecrets(db(), user.id)),
      user.password,
      key,
      ...codes,
      ...codes.map((code) => normalizeRecoveryCode(code)!),
      browser.sessionToken,
      app.accessToken,
      ...Object.values(links).map((link) => link.token),
      passkey.credentialId,
      passkey.publicKey,
    ];
    // What the scan covers: the password hash, both TOTP secrets, every token hash of every table.
    const [row] = await db().select().from(users).where(eq(users.id, user.id));
    expect(secrets).toEqual(
      expect.arrayContaining([row!.passwordHash!, row!.twoFactorSecret!, "sealed-pending-secret-value", links.reset.hash]),
    );
    expect(secrets.length).toBeGreaterThan(30);
    for (const secret of secrets) expect(json, "a secret is in the export").not.toContain(secret);
  });

  it("lists no pending email change once the link is used or expired", async () => {
    const user = await createUser(db());
    const browser = await insertSession(db(), { userId: user.id, userAgent: CHROME_ON_WINDOWS, ip: null });
    await db()
      .insert(emailChangeTokens)
      .values([
        { userId: user.id, tokenHash: generateToken().hash, expiresAt: inAnHour, usedAt: sql`now()`, newEmail: uniqueEmail("used") },
        { userId: user.id, tokenHash: generateToken().hash, expiresAt: sql`now() - interval '1 minute'`, newEmail: uniqueEmail("gone") },
      ]);
    await db()
      .update(users)
      .set({ deletionRequestedAt: sql`now()` })
      .where(eq(users.id, user.id));

    const result = await exportAccount(db(), { userId: user.id, sessionId: browser.id, ...context() });

    if (!result.ok) throw new Error(result.code);
    expect(result.data.pending_email_change).toBeNull();
    expect(result.data.two_factor).toEqual({ enabled: false, enabled_at: null, recovery_codes_left: 0 });
    expect(result.data.account.deletion_requested_at).not.toBeNull();
  });

  it("refuses a session that has not confirmed it's you within the window, and writes nothing", async () => {
    const user = await createUser(db());
    const browser = await insertSession(db(), { userId: user.id, userAgent: CHROME_ON_WINDOWS, ip: null });
    await db()
      .update(sessions)
      .set({ createdAt: sql`now() - interval '1 hour'`, passwordCheckedAt: null })
      .where(eq(sessions.id, browser.id));

    const result = await exportAccount(db(), { userId: user.id, sessionId: browser.id, ...context() });

    expect(result).toEqual({ ok: false, code: "CONFIRMATION_NEEDED" });
    const events = await db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, user.id), eq(auditEvents.event, "account.exported")));
    expect(events).toHaveLength(0);
  });

  it("refuses another user's session", async () => {
    const owner = await createUser(db());
    const other = await createUser(db());
    const otherSession = await insertSession(db(), { userId: other.id, userAgent: CHROME_ON_WINDOWS, ip: null });

    const result = await exportAccount(db(), { userId: owner.id, sessionId: otherSession.id, ...context() });

    expect(result).toEqual({ ok: false, code: "CONFIRMATION_NEEDED" });
  });
});
