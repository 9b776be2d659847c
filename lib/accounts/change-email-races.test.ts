// An email change's confirmation raced against another confirmation of the same account and
// against a password reset, as real parallel requests on PostgreSQL (PGlite runs one query at a
// time and cannot show a race): the database ends in one consistent state, and no session that
// should have ended survives.
import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import { auditEvents, emailChangeTokens, jobs, passwordResetTokens, sessions, users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { insertSession } from "@/test-support/sessions";
import { createUser, CURRENT_PASSWORD, uniqueEmail } from "@/test-support/users";
import { findSession } from "../auth/sessions";
import { resetPassword } from "../recovery/reset";
import { generateToken } from "../tokens";
import { confirmEmailChange } from "./change-email";

const NOTHING_LATER = () => {};
const NEW_PASSWORD = "Reset-Password-Race-3";
const context = { ip: null, userAgent: null };

/** A pending change of `userId` to `newEmail`, as a request stores it. */
async function changeLink(db: Database, userId: string, newEmail: string): Promise<string> {
  const { token, hash } = generateToken();
  await db.insert(emailChangeTokens).values({ userId, tokenHash: hash, newEmail, expiresAt: new Date(Date.now() + 3600_000) });
  return token;
}

async function resetLink(db: Database, userId: string): Promise<string> {
  const { token, hash } = generateToken();
  await db.insert(passwordResetTokens).values({ userId, tokenHash: hash, expiresAt: new Date(Date.now() + 3600_000) });
  return token;
}

async function userRow(db: Database, userId: string) {
  const [row] = await db
    .select({ email: users.email, version: users.credentialsVersion, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.id, userId));
  return row!;
}

describeEachDatabase("email change races", ({ handle, driver }) => {
  const db = () => handle().db;

  if (driver === "postgres") {
    it("two changes of one account confirmed at once: one wins, the other's link is spent, one notice, one version step", async () => {
      for (let round = 0; round < 8; round++) {
        const user = await createUser(db());
        const before = await userRow(db(), user.id);
        const emails = [uniqueEmail("race-a"), uniqueEmail("race-b")];
        // Two pending links at once: requests that raced each other, each before the other's cancel.
        const tokens = await Promise.all(emails.map((email) => changeLink(db(), user.id, email)));
        const results = await Promise.all(
          tokens.map((token) => confirmEmailChange(db(), { token, password: CURRENT_PASSWORD, ...context }, NOTHING_LATER)),
        );
        const won = results.filter((r) => r.ok);
        expect(won, JSON.stringify(results)).toHaveLength(1);
        const after = await userRow(db(), user.id);
        expect(after.email).toBe((won[0] as { email: string }).email);
        expect(after.version).toBe(before.version + 1);
        const unused = await db().select().from(emailChangeTokens).where(eq(emailChangeTokens.userId, user.id));
        expect(unused.every((t) => t.usedAt !== null)).toBe(true);
        const notices = await db().select().from(jobs).where(eq(jobs.kind, "email_change.notify"));
        expect(notices.filter((j) => (j.payload as { userId: string }).userId === user.id)).toHaveLength(1);
        const confirmed = await db().select().from(auditEvents).where(eq(auditEvents.userId, user.id));
        expect(confirmed.filter((e) => e.event === "email_change.confirmed")).toHaveLength(1);
      }
    });

    it("a reset racing an email confirmation: the address, the password and the credentials version agree, and no old session lives", async () => {
      for (let round = 0; round < 8; round++) {
        const user = await createUser(db());
        const before = await userRow(db(), user.id);
        const session = await insertSession(db(), { userId: user.id, ip: null, userAgent: null });
        const newEmail = uniqueEmail("race-reset");
        const [change, reset] = await Promise.all([changeLink(db(), user.id, newEmail), resetLink(db(), user.id)]);
        const [confirmed, resetDone] = await Promise.all([
          confirmEmailChange(db(), { token: change, password: CURRENT_PASSWORD, sessionId: session.id, ...context }, NOTHING_LATER),
          resetPassword(db(), { token: reset, password: NEW_PASSWORD, ...context }, NOTHING_LATER),
        ]);
        const after = await userRow(db(), user.id);
        // Whichever committed first spent the other's link: exactly one of them changed the account.
        expect([confirmed.ok, resetDone.ok].filter(Boolean), JSON.stringify([confirmed, resetDone])).toHaveLength(1);
        expect(after.version).toBe(before.version + 1);
        expect(after.email).toBe(confirmed.ok ? newEmail : user.email);
        expect(after.passwordHash === before.passwordHash).toBe(confirmed.ok);
        // A reset ends every session; a confirmation keeps only the confirming one, on the new version.
        const live = await findSession(db(), session.sessionToken);
        expect(live !== null).toBe(confirmed.ok);
        const rows = await db().select().from(sessions).where(eq(sessions.userId, user.id));
        expect(rows.every((s) => s.credentialsVersion === after.version)).toBe(true);
      }
    });
  }

  it("a confirmation that finds its link spent by a reset changes nothing", async () => {
    const user = await createUser(db());
    const change = await changeLink(db(), user.id, uniqueEmail("after-reset"));
    const reset = await resetLink(db(), user.id);
    expect(await resetPassword(db(), { token: reset, password: NEW_PASSWORD, ...context }, NOTHING_LATER)).toEqual({ ok: true });
    expect(await confirmEmailChange(db(), { token: change, password: NEW_PASSWORD, ...context }, NOTHING_LATER)).toEqual({
      ok: false,
      code: "TOKEN_PROBLEM",
      problem: "used",
    });
    expect((await userRow(db(), user.id)).email).toBe(user.email);
  });
});
