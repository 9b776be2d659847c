import type { APIRequestContext, Page } from "@playwright/test";
import type { Sql } from "postgres";
import {
  expect,
  insertUser,
  jobsAboutSettled,
  signIn,
  test,
  uniqueEmail,
  uniqueIp,
  unknownAddressesDecided,
  type TestUser,
} from "./support/fixtures";
import { freshDatabase } from "./support/fresh-database";
import { E2E } from "./support/settings";
import { PATHS, call, errorCode, expectContract } from "./api/support/api";
import { startOwnServer } from "./api/support/own-server";

const DELETION_EMAIL = /your rekey account is being deleted/i;
const NEW_PASSWORD = "Brand-New-Horse-31";

/**
 * Deletes the signed-in `user`'s account through /account/delete, as a person would; its sign-in
 * is aged first, so the page asks "Confirm it's you".
 */
async function deleteThroughPage(page: Page, db: Sql, user: TestUser): Promise<void> {
  await db`update sessions set password_checked_at = now() - interval '11 minutes' where user_id = ${user.id}`;
  await page.goto("/account");
  await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Delete account" }).click();
  await expect(page).toHaveURL(/\/account\/delete$/);
  await expect(page.getByRole("heading", { name: "Confirm it's you" })).toBeVisible();
  await page.getByLabel("Password", { exact: true }).fill(user.password);
  await page.getByRole("button", { name: "Confirm", exact: true }).click();
  await page.getByLabel("Type your email address to confirm").fill("not-mine@example.com");
  await page.getByRole("button", { name: "Delete my account" }).click();
  await expect(page.getByText("That is not this account's email address.")).toBeVisible();
  await page.getByLabel("Type your email address to confirm").fill(user.email.toUpperCase());
  await page.getByRole("button", { name: "Delete my account" }).click();
  await expect(page).toHaveURL(/\/account-deleted$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Your account is deleted");
}

/** The sign-in form's answer for `email` and `password`: the error shown and where the page is. */
async function signInFormAnswer(page: Page, email: string, password: string) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  const error = page.getByTestId("form-error");
  await expect(error).toBeVisible();
  return { error: await error.textContent(), url: new URL(page.url()).pathname };
}

/** POST /api/auth/callback/credentials (Auth.js without the app's pages): status and where it redirects. */
async function callbackAnswer(request: APIRequestContext, email: string, password: string) {
  const { csrfToken } = (await (await request.get("/api/auth/csrf")).json()) as { csrfToken: string };
  const answer = await request.post("/api/auth/callback/credentials", {
    form: { email, password, csrfToken, callbackUrl: `${E2E.appUrl}/account` },
    headers: { "x-forwarded-for": uniqueIp() },
    maxRedirects: 0,
  });
  const cookies = answer.headersArray().filter((h) => h.name.toLowerCase() === "set-cookie" && h.value.includes("session-token="));
  return { status: answer.status(), location: answer.headers().location, sessionCookie: cookies.length > 0 };
}

test.describe("account deletion", () => {
  test("deleted from /account/delete: every browser is signed out, and sign-in and forgot-password answer exactly as for an unknown address", async ({
    page,
    browser,
    request,
    createUser,
    mailbox,
    db,
  }) => {
    const user = await createUser();
    const stranger = uniqueEmail("nobody");
    const elsewhere = await (await browser.newContext()).newPage();
    await signIn(elsewhere, user);
    await signIn(page, user);
    await deleteThroughPage(page, db, user);

    await elsewhere.goto("/account");
    await expect(elsewhere).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
    const [row] =
      await db`select deletion_requested_at is not null as pending, (select count(*)::int from sessions where user_id = ${user.id}) as sessions from users where id = ${user.id}`;
    expect(row).toEqual({ pending: true, sessions: 0 });
    const cancelMail = await mailbox.waitFor(user.email, DELETION_EMAIL);
    expect(cancelMail.text).toContain("deleted by you");

    // The sign-in page, with the right password: word for word what an unknown address gets.
    expect(await signInFormAnswer(page, user.email, user.password)).toEqual(await signInFormAnswer(page, stranger, user.password));
    // Auth.js's own endpoint, and the API's sign-in.
    const viaCallback = await callbackAnswer(request, user.email, user.password);
    expect(viaCallback).toEqual(await callbackAnswer(request, stranger, user.password));
    expect(viaCallback.sessionCookie).toBe(false);
    const apiKnown = await call(request, PATHS.signIn, {
      json: { email: user.email, password: user.password },
      headers: { "x-forwarded-for": uniqueIp() },
    });
    const apiUnknown = await call(request, PATHS.signIn, {
      json: { email: stranger, password: user.password },
      headers: { "x-forwarded-for": uniqueIp() },
    });
    expect(apiKnown.status).toBe(401);
    expect(apiKnown.status).toBe(apiUnknown.status);
    expect(apiKnown.bytes.equals(apiUnknown.bytes)).toBe(true);

    // Forgot-password: the same bytes through the API, the same answer on the page, and no email.
    const ip = uniqueIp();
    const forgotKnown = await call(request, PATHS.forgot, { json: { email: user.email }, headers: { "x-forwarded-for": ip } });
    const forgotUnknown = await call(request, PATHS.forgot, { json: { email: stranger }, headers: { "x-forwarded-for": ip } });
    expect(forgotKnown.status).toBe(202);
    expect(forgotKnown.bytes.equals(forgotUnknown.bytes)).toBe(true);
    const pageAnswer = async (email: string) => {
      await page.goto("/forgot-password");
      await page.getByLabel("Email").fill(email);
      await page.getByRole("button", { name: "Send reset link" }).click();
      return page.getByTestId("forgot-password-answer").textContent();
    };
    expect(await pageAnswer(user.email)).toBe(await pageAnswer(stranger));
    await unknownAddressesDecided(db, ip, 2);
    await jobsAboutSettled(db, user.email);
    // Only the deletion's own email (besides the two browsers' new-sign-in notices from before it).
    const subjects = (await mailbox.messages(user.email)).map((m) => m.subject).filter((subject) => !/new sign-in/i.test(subject));
    expect(subjects).toEqual([cancelMail.subject]);
  });

  test("the cancel link: opening it changes nothing, its button restores the account with no session, and the emailed reset link sets a new password", async ({
    page,
    createUser,
    mailbox,
    db,
  }) => {
    const user = await createUser();
    await signIn(page, user);
    await deleteThroughPage(page, db, user);
    const link = await mailbox.link(user.email, DELETION_EMAIL, "/cancel-deletion/");

    await page.goto(link);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Cancel the deletion of your account?");
    const [still] = await db`select deletion_requested_at is not null as pending from users where id = ${user.id}`;
    expect(still).toEqual({ pending: true });
    await page.getByRole("button", { name: "Cancel the deletion" }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Your account is back");
    const [back] =
      await db`select deletion_requested_at is null as restored, (select count(*)::int from sessions where user_id = ${user.id}) as sessions from users where id = ${user.id}`;
    expect(back).toEqual({ restored: true, sessions: 0 });

    // Used once: a second visit says so.
    await page.goto(link);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("This link has already been used");
    // The old password no longer works; the emailed link sets a new one.
    expect((await signInFormAnswer(page, user.email, user.password)).error).toBe("Incorrect email or password.");
    await page.goto(await mailbox.resetLink(user.email));
    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel("Confirm new password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Set new password" }).click();
    await expect(page).toHaveURL(/\/login\?notice=password-reset$/);
    await signIn(page, { email: user.email, password: NEW_PASSWORD });
  });

  test("without JavaScript: deleting and cancelling work as plain form posts", async ({ browser, createUser, mailbox, db }) => {
    const user = await createUser();
    const context = await browser.newContext({ javaScriptEnabled: false, extraHTTPHeaders: { "x-forwarded-for": uniqueIp() } });
    const page = await context.newPage();
    await signIn(page, user);
    await deleteThroughPage(page, db, user);
    await page.goto(await mailbox.link(user.email, DELETION_EMAIL, "/cancel-deletion/"));
    await page.getByRole("button", { name: "Cancel the deletion" }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Your account is back");
    const [row] = await db`select deletion_requested_at is null as restored from users where id = ${user.id}`;
    expect(row).toEqual({ restored: true });
    await mailbox.resetLink(user.email);
    await context.close();
  });

  test("DELETE /api/v1/me with a bearer token: refused without the password or the right address, then deleted as documented", async ({
    request,
    createUser,
    mailbox,
  }) => {
    const user = await createUser();
    const signedIn = await call(request, PATHS.signIn, { json: { email: user.email, password: user.password, client_name: "e2e app" } });
    const token = (signedIn.body as { access_token: string }).access_token;
    const bearer = { authorization: `Bearer ${token}` };
    const operation = { method: "delete", path: PATHS.me } as const;

    const wrongPassword = await call(request, PATHS.me, {
      method: "DELETE",
      json: { email: user.email, password: "Wrong-Horse-11" },
      headers: bearer,
    });
    expect(errorCode(wrongPassword)).toBe("invalid_current_password");
    await expectContract(wrongPassword, operation);
    const wrongAddress = await call(request, PATHS.me, {
      method: "DELETE",
      json: { email: "other@example.com", password: user.password },
      headers: bearer,
    });
    expect(errorCode(wrongAddress)).toBe("validation_error");
    await expectContract(wrongAddress, operation);
    const noToken = await call(request, PATHS.me, {
      method: "DELETE",
      json: { email: user.email, password: user.password },
      headers: { authorization: "Bearer nope" },
    });
    expect(noToken.status).toBe(401);

    const deleted = await call(request, PATHS.me, {
      method: "DELETE",
      json: { email: user.email, password: user.password },
      headers: bearer,
    });
    expect(deleted.status, deleted.text).toBe(200);
    await expectContract(deleted, operation);
    const erasedAfter = new Date((deleted.body as { erased_after: string }).erased_after).getTime();
    expect(Math.abs(erasedAfter - Date.now() - 14 * 86_400_000)).toBeLessThan(120_000);
    expect((await call(request, PATHS.me, { method: "GET", headers: bearer })).status).toBe(401);
    await mailbox.waitFor(user.email, DELETION_EMAIL);
  });

  test("after the grace period the cleanup cron erases the account and keeps its audit rows only as fingerprints", async () => {
    test.setTimeout(120_000);
    const database = await freshDatabase("erase");
    const secret = "e2e-cron-secret-for-erasure-0123";
    const server = await startOwnServer(
      { DATABASE_URL: database.url, MAIL_TRANSPORT: "outbox", CRON_SECRET: secret },
      { readyTimeoutMs: 60_000 },
    );
    try {
      const user = await insertUser(database.sql);
      const kept = await insertUser(database.sql);
      const api = (path: string, init: RequestInit) =>
        fetch(`${server.url}${path}`, { ...init, headers: { "content-type": "application/json", ...init.headers } });
      for (const who of [user, kept]) {
        const signedIn = await api(PATHS.signIn, { method: "POST", body: JSON.stringify({ email: who.email, password: who.password }) });
        const { access_token } = (await signedIn.json()) as { access_token: string };
        const deleted = await api(PATHS.me, {
          method: "DELETE",
          headers: { authorization: `Bearer ${access_token}` },
          body: JSON.stringify({ email: who.email, password: who.password }),
        });
        expect(deleted.status).toBe(200);
      }
      // The clock moved forward: one deletion 15 days old (past the default 14), the other 13.
      await database.sql`update users set deletion_requested_at = now() - interval '15 days' where id = ${user.id}`;
      await database.sql`update users set deletion_requested_at = now() - interval '13 days' where id = ${kept.id}`;

      const cron = await fetch(`${server.url}/api/cron/cleanup`, { headers: { authorization: `Bearer ${secret}` } });
      expect(cron.status).toBe(200);
      expect(((await cron.json()) as { deleted: { erasedAccounts: number } }).deleted.erasedAccounts).toBe(1);

      expect(await database.sql`select id from users where id = ${user.id}`).toEqual([]);
      expect(await database.sql`select id from users where id = ${kept.id}`).toHaveLength(1);
      for (const table of ["sessions", "password_reset_tokens", "account_deletion_cancel_tokens"]) {
        expect(await database.sql`select 1 from ${database.sql(table)} where user_id = ${user.id}`).toEqual([]);
      }
      const audit = JSON.stringify(await database.sql`select * from audit_events`);
      expect(audit).not.toContain(user.id);
      expect(audit).not.toContain(user.email);
      const erased = await database.sql`select user_id, email_hmac from audit_events where event = 'account.erased'`;
      expect(erased).toHaveLength(1);
      expect(erased[0]?.user_id).toBeNull();
      expect(erased[0]?.email_hmac).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(await database.sql`select payload from jobs`)).not.toContain(user.id);
    } finally {
      await server.stop();
      await database.drop();
    }
  });
});
