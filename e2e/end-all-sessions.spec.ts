// "End every session" from outside: a production server of its own on a fresh database (ending
// every session of the run's shared server would sign out the other specs' browsers), an admin
// and a user signed in in separate browsers, then the admin's action.
import { createHash } from "node:crypto";
import type { Page } from "@playwright/test";
import { startOwnServer, type OwnServer } from "./api/support/own-server";
import { expectNoSeriousViolations } from "./support/axe";
import { STRONG_PASSWORD, expect, insertUser, test, uniqueEmail } from "./support/fixtures";
import { freshDatabase } from "./support/fresh-database";
import { E2E } from "./support/settings";
import { signInWithTwoFactorOn } from "./support/two-factor-sign-in";

const ADMIN = "end-all-admin@rekey.test";

async function signInAt(server: OwnServer, page: Page, email: string): Promise<void> {
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(STRONG_PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("account-email")).toBeVisible();
}

test("an admin's \"End every session\" signs out another user's browser and the admin's own, audited", async ({ browser }) => {
  test.setTimeout(120_000);
  const database = await freshDatabase("endall");
  let server: OwnServer | undefined;
  try {
    server = await startOwnServer({
      DATABASE_URL: database.url,
      AUTH_SECRET: createHash("sha256").update(database.url).digest("base64url"),
      RESEND_API_KEY: "re_e2e_stand_in",
      RESEND_BASE_URL: E2E.resendUrl,
      EMAIL_FROM: "Rekey <no-reply@rekey.test>",
      ADMIN_EMAILS: ADMIN,
    });
    const admin = await insertUser(database.sql, { email: ADMIN });
    const user = await insertUser(database.sql, { email: uniqueEmail("end-all") });

    const userContext = await browser.newContext();
    const userPage = await userContext.newPage();
    await signInAt(server, userPage, user.email);
    // Admins need a session that passed a second factor: two-factor on, then a sign-in with a code.
    const adminContext = await browser.newContext({ baseURL: server.url });
    const adminPage = await adminContext.newPage();
    const authenticator = await signInWithTwoFactorOn(adminPage, { email: admin.email, password: STRONG_PASSWORD });

    // A stale confirmation: the action is not offered, "Confirm it's you" asks for the password.
    await database.sql`update sessions set created_at = now() - interval '11 minutes', password_checked_at = null where user_id = ${admin.id}`;
    await adminPage.goto(`${server.url}/admin/users`);
    await expect(adminPage.getByRole("button", { name: "End every session" })).toHaveCount(0);
    await expectNoSeriousViolations(adminPage);
    await adminPage.getByLabel("Password", { exact: true }).fill(STRONG_PASSWORD);
    await adminPage.getByLabel("Authentication code").fill(await authenticator.code());
    await adminPage.getByRole("button", { name: "Confirm", exact: true }).click();
    await expect(adminPage.getByText("Confirmed. You can act on every account now.")).toBeVisible();
    await expectNoSeriousViolations(adminPage);

    await adminPage.getByLabel("I understand that every user, me included, will be signed out").check();
    await adminPage.getByRole("button", { name: "End every session" }).click();
    await expect(adminPage).toHaveURL(/\/login\?notice=all-signed-out$/);
    await expect(adminPage.getByText("Every session of every user has ended, yours too. Sign in again.")).toBeVisible();

    // The other browser's cookie no longer works: its next page is the sign-in page.
    await userPage.goto(`${server.url}/account`);
    await expect(userPage).toHaveURL(/\/login/);
    // Nor does the admin's: /admin is a 404 again.
    expect((await adminPage.goto(`${server.url}/admin/users`))?.status()).toBe(404);

    expect(await database.sql`select count(*)::int as n from sessions`).toEqual([{ n: 0 }]);
    const events = await database.sql`select details from audit_events where event = 'sessions.all_ended'`;
    expect(events).toEqual([{ details: { via: "admin", admin_id: admin.id, sessions: 2, sign_in_steps: 0 } }]);

    // The user signs in again as usual.
    await signInAt(server, userPage, user.email);
    await userContext.close();
    await adminContext.close();
  } finally {
    await server?.stop();
    await database.drop();
  }
});
