import type { Browser, Page } from "@playwright/test";
import { expect, signIn, STRONG_PASSWORD, test, type TestUser } from "./support/fixtures";
import { multipart, rawRequest } from "./support/forms";
import { expectNoSeriousViolations } from "./support/axe";
import { givePasskey } from "./support/passkey-sign-in";
import { addVirtualAuthenticator } from "./support/passkeys";
import { E2E } from "./support/settings";
import { enableTwoFactor } from "./support/two-factor";
import { signInWithSecondFactor, signInWithTwoFactorOn } from "./support/two-factor-sign-in";

const NEW_PASSWORD = "Another-Horse-42";

/** Opens the account page of `user` as the signed-in admin on `page`. */
async function openAccount(page: Page, user: TestUser): Promise<void> {
  await page.goto("/admin/users");
  await page.getByLabel("Email").fill(user.email);
  await page.getByRole("button", { name: "Find account" }).click();
  await expect(page).toHaveURL(new RegExp(`/admin/users/${user.id}$`));
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(user.email);
}

/** A second browser in which `user` is signed in. */
async function signedInElsewhere(browser: Browser, user: TestUser): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, user);
  return page;
}

/** A second browser in which the admin `user` is signed in with a second factor, as /admin requires. */
async function adminElsewhere(browser: Browser, user: TestUser): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signInWithTwoFactorOn(page, user);
  return page;
}

/** The cookie header of `page`'s browser. */
async function cookieOf(page: Page): Promise<string> {
  return (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
}

/** The `$ACTION_ID_…` field of each plain server-action form on an HTML page, in order. */
function actionIds(html: string): string[] {
  return [...html.matchAll(/name="(\$ACTION_ID_[0-9a-f]+)"/g)].map((m) => m[1] as string);
}

test.describe("admin area", () => {
  // One admin address per run (ADMIN_EMAILS is fixed when the server starts): one test at a time.
  test.describe.configure({ mode: "serial" });

  test("a signed-out visitor and a signed-in non-admin get 404 on every /admin path and action", async ({ browser, createUser, db }) => {
    const admin = await createUser({ email: E2E.adminEmail });
    const victim = await createUser();
    const outsider = await createUser();

    // The admin's own view of the account page carries the action ids a stranger would post.
    const adminPage = await adminElsewhere(browser, admin);
    await openAccount(adminPage, victim);
    // The server's HTML (as a browser without JavaScript gets it), where each form names its action.
    const adminCookie = (await adminPage.context().cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    const html = (
      await rawRequest({
        method: "GET",
        path: `/admin/users/${victim.id}`,
        headers: { host: `localhost:${E2E.appPort}`, cookie: adminCookie },
      })
    ).body;
    const ids = actionIds(html);
    expect(ids).toHaveLength(3); // "Sign out everywhere", "Force password reset" and "Delete account" (the victim is confirmed)

    const paths = [
      "/admin",
      "/admin/users",
      `/admin/users/${victim.id}`,
      "/admin/audit",
      "/admin/audit?event=user.signed_in",
      "/admin/audit/export",
    ];
    const outsiderPage = await signedInElsewhere(browser, outsider);
    const outsiderCookie = (await outsiderPage.context().cookies()).map((c) => `${c.name}=${c.value}`).join("; ");

    for (const cookie of ["", outsiderCookie]) {
      const who = cookie ? "non-admin" : "signed out";
      for (const path of paths) {
        const response = await rawRequest({ method: "GET", path, headers: { host: `localhost:${E2E.appPort}`, cookie } });
        expect(response.status, `${who} GET ${path}`).toBe(404);
      }
      for (const id of ids) {
        const form = multipart({ [id]: "", userId: victim.id, email: victim.email });
        const response = await rawRequest({
          method: "POST",
          path: `/admin/users/${victim.id}`,
          headers: { host: `localhost:${E2E.appPort}`, origin: E2E.appUrl, "content-type": form.contentType, cookie },
          body: form.body,
        });
        expect(response.status, `${who} POST ${id}`).toBe(404);
      }
    }
    // None of those posts did anything: the victim's password still works.
    const [row] =
      await db`select password_hash is not null as has_password, password_reset_forced_at, deletion_requested_at from users where id = ${victim.id}`;
    expect(row).toEqual({ has_password: true, password_reset_forced_at: null, deletion_requested_at: null });

    // And the signed-in non-admin sees the ordinary not-found page in a browser.
    const response = await outsiderPage.goto("/admin/users");
    expect(response?.status()).toBe(404);
  });

  test("an admin whose last password check is over 10 minutes old is asked for the password before acting", async ({
    page,
    createUser,
    db,
  }) => {
    const admin = await createUser({ email: E2E.adminEmail });
    const user = await createUser();
    const authenticator = await signInWithTwoFactorOn(page, admin);
    await db`update sessions set created_at = now() - interval '11 minutes', password_checked_at = null where user_id = ${admin.id}`;

    await openAccount(page, user);
    await expect(page.getByRole("button", { name: "Force password reset" })).toHaveCount(0);
    await expect(page.getByRole("heading", { name: "Confirm it's you" })).toBeVisible();
    // The admin has two-factor on: the confirmation asks for a code too. A wrong password is
    // refused before the code is looked at, so the same code still works on the next try.
    const code = await authenticator.code();
    await page.getByLabel("Password", { exact: true }).fill("Not-My-Password-1");
    await page.getByLabel("Authentication code").fill(code);
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    await expect(page.getByText("That is not your password.")).toBeVisible();

    await page.getByLabel("Password", { exact: true }).fill(STRONG_PASSWORD);
    await page.getByLabel("Authentication code").fill(code);
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    await expect(page.getByText("Confirmed. You can act on this account now.")).toBeVisible();
    await expect(page.getByRole("button", { name: "Force password reset" })).toBeVisible();

    // The check is stored on this session's row, with the admin's id in the audit log.
    const [check] = await db`select password_checked_at > now() - interval '1 minute' as fresh from sessions where user_id = ${admin.id}`;
    expect(check?.fresh).toBe(true);
    const audited =
      await db`select details->>'admin_id' as admin_id from audit_events where event = 'admin.password_checked' and user_id = ${admin.id}`;
    expect(audited).toEqual([{ admin_id: admin.id }]);

    // Stale again: an action posted anyway does nothing and asks for the password.
    await db`update sessions set password_checked_at = now() - interval '11 minutes' where user_id = ${admin.id}`;
    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    await expect(page.getByText(/Confirm it's you first: admin actions need/)).toBeVisible();
    const [ended] = await db`select count(*)::int as n from audit_events where event = 'admin.sessions_revoked' and user_id = ${user.id}`;
    expect(ended?.n).toBe(0);
  });

  test("an admin whose second factor is a passkey confirms it's them with the passkey (no code to type), audited as a passkey check", async ({
    page,
    browser,
    createUser,
    db,
  }) => {
    const admin = await createUser({ email: E2E.adminEmail });
    const user = await createUser();
    const elsewhere = await signedInElsewhere(browser, user);
    // The button alone acts: no passkey offered in the email field's autofill.
    await page.addInitScript(() => {
      PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
    const authenticator = await addVirtualAuthenticator(page);
    await givePasskey(db, authenticator, admin);
    // A passkey sign-in passed a second factor, so the admin pages let it in; it checked no
    // password, so acting asks "Confirm it's you" first.
    await page.goto("/login?callbackUrl=%2Fadmin");
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expect(page.getByRole("heading", { name: "Recovery dashboard" })).toBeVisible();
    await openAccount(page, user);
    await expect(page.getByRole("button", { name: "Sign out everywhere" })).toHaveCount(0);
    const confirm = page.getByTestId("confirm-identity");
    await expect(confirm).toContainText("Enter your password and use your passkey (or a code)");

    await confirm.getByLabel("Password", { exact: true }).fill(admin.password);
    const asserted = authenticator.nextCredentialAsserted();
    await confirm.getByRole("button", { name: "Confirm with a passkey" }).click();
    await asserted;
    await expect(page.getByText("Confirmed. You can act on this account now.")).toBeVisible();
    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    await expect(page.getByText("Every session of this account has ended.")).toBeVisible();
    await elsewhere.goto("/account");
    await expect(elsewhere).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);

    const checked = await db`select details from audit_events where event = 'admin.password_checked' and user_id = ${admin.id}`;
    expect(checked.map((row) => row.details)).toEqual([{ admin_id: admin.id, method: "passkey" }]);
  });

  test("Force password reset: the user's browsers are signed out, the old password fails with the reason, the emailed link works", async ({
    page,
    browser,
    createUser,
    mailbox,
    db,
  }) => {
    const admin = await createUser({ email: E2E.adminEmail });
    const user = await createUser();
    const userPage = await signedInElsewhere(browser, user);
    await signInWithTwoFactorOn(page, admin);
    await openAccount(page, user);
    await expect(page.getByTestId("active-sessions")).toHaveText("1");

    await page.getByRole("button", { name: "Force password reset" }).click();
    await expect(page.getByText(/The password no longer works/)).toBeVisible();
    await expect(page.getByTestId("active-sessions")).toHaveText("0");

    await userPage.goto("/account");
    await expect(userPage).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);

    // The old password: told why. A wrong one: the usual answer, nothing more.
    await userPage.getByLabel("Email").fill(user.email);
    await userPage.getByLabel("Password", { exact: true }).fill("Wrong-Password-77");
    await userPage.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(userPage.getByTestId("form-error")).toHaveText("Incorrect email or password.");
    await userPage.getByLabel("Password", { exact: true }).fill(user.password);
    await userPage.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(userPage.getByTestId("form-error")).toContainText("an administrator required a new password");
    await expect(userPage).toHaveURL(/\/login/);

    const link = await mailbox.resetLink(user.email);
    await userPage.goto(link);
    await userPage.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await userPage.getByLabel("Confirm new password").fill(NEW_PASSWORD);
    await userPage.getByRole("button", { name: "Set new password" }).click();
    // Wait for the reset to land: navigating away at once can cancel its post before it is sent.
    await expect(userPage).toHaveURL(/\/login\?notice=password-reset$/);
    await signIn(userPage, { email: user.email, password: NEW_PASSWORD });

    const [row] = await db`select password_reset_forced_at, retired_password_hash from users where id = ${user.id}`;
    expect(row).toEqual({ password_reset_forced_at: null, retired_password_hash: null });
    const audited =
      await db`select details->>'admin_id' as admin_id from audit_events where event = 'admin.password_reset_forced' and user_id = ${user.id}`;
    expect(audited).toEqual([{ admin_id: admin.id }]);
  });

  test("Remove two-factor: shown only while it is on, audited with the admin's id, the owner is emailed, and a reset link then needs no code", async ({
    page,
    browser,
    createUser,
    mailbox,
    db,
  }) => {
    const admin = await createUser({ email: E2E.adminEmail });
    const user = await createUser();
    const userPage = await signedInElsewhere(browser, user);
    await signInWithTwoFactorOn(page, admin);
    await openAccount(page, user);
    await expect(page.getByTestId("two-factor")).toHaveText("Off");
    await expect(page.getByRole("button", { name: "Remove two-factor" })).toHaveCount(0);

    await enableTwoFactor(userPage);
    await page.reload();
    await expect(page.getByTestId("two-factor")).toHaveText(/^On since .+, 10 of 10 recovery codes left$/);
    await page.getByRole("button", { name: "Remove two-factor" }).click();
    await expect(page.getByText(/Two-factor authentication is off for this account/)).toBeVisible();
    await expect(page.getByTestId("two-factor")).toHaveText("Off");
    await expect(page.getByRole("button", { name: "Remove two-factor" })).toHaveCount(0);

    const audited =
      await db`select details->>'admin_id' as admin_id from audit_events where event = 'admin.two_factor_removed' and user_id = ${user.id}`;
    expect(audited).toEqual([{ admin_id: admin.id }]);
    const [codes] = await db`select count(*)::int as n from recovery_codes where user_id = ${user.id}`;
    expect(codes?.n).toBe(0);
    const notice = await mailbox.waitFor(user.email, /Two-factor authentication was turned off/);
    expect(notice.text).toContain("An administrator turned off two-factor authentication");

    // The owner, who lost the authenticator, now resets with the emailed link alone.
    await userPage.goto("/forgot-password");
    await userPage.getByLabel("Email").fill(user.email);
    await userPage.getByRole("button", { name: "Send reset link" }).click();
    await userPage.goto(await mailbox.resetLink(user.email));
    await expect(userPage.getByLabel("Authentication code")).toHaveCount(0);
    await userPage.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await userPage.getByLabel("Confirm new password").fill(NEW_PASSWORD);
    await userPage.getByRole("button", { name: "Set new password" }).click();
    await expect(userPage).toHaveURL(/\/login\?notice=password-reset$/);
  });

  test("Sign out everywhere: the user's browsers are signed out and the password keeps working", async ({ page, browser, createUser }) => {
    const admin = await createUser({ email: E2E.adminEmail });
    const user = await createUser();
    const first = await signedInElsewhere(browser, user);
    const second = await signedInElsewhere(browser, user);
    await signInWithTwoFactorOn(page, admin);
    await openAccount(page, user);
    await expect(page.getByTestId("active-sessions")).toHaveText("2");

    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    await expect(page.getByText("Every session of this account has ended.")).toBeVisible();
    await expect(page.getByTestId("active-sessions")).toHaveText("0");

    for (const userPage of [first, second]) {
      await userPage.goto("/account");
      await expect(userPage).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
    }
    await signIn(first, user);
  });

  test("Delete account: needs the address typed, signs the owner out, emails the cancel link, is audited with the admin's id; search then shows it as deletion pending with no actions", async ({
    page,
    browser,
    createUser,
    mailbox,
    db,
  }) => {
    const admin = await createUser({ email: E2E.adminEmail });
    const user = await createUser();
    const userPage = await signedInElsewhere(browser, user);
    await signInWithTwoFactorOn(page, admin);
    await openAccount(page, user);

    const typed = page.getByLabel("Type the account's email address to confirm");
    await typed.fill("someone-else@example.com");
    await page.getByRole("button", { name: "Delete account" }).click();
    await expect(page.getByText("Type this account's exact email address to delete it. Nothing was deleted.")).toBeVisible();
    await page.getByLabel("Type the account's email address to confirm").fill(user.email);
    await page.getByRole("button", { name: "Delete account" }).click();
    await expect(page.getByText(/The account is deleted/)).toBeVisible();
    await expect(page.getByTestId("deletion-pending")).toHaveText("Deletion pending");
    await expect(page.getByTestId("active-sessions")).toHaveText("0");
    await expect(page.getByRole("button", { name: "Force password reset" })).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Delete account" })).toHaveCount(0);

    await userPage.goto("/account");
    await expect(userPage).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
    const mail = await mailbox.waitFor(user.email, /your rekey account is being deleted/i);
    expect(mail.text).toContain("deleted by an administrator");
    expect(mail.text).toMatch(/\/cancel-deletion\/[A-Za-z0-9_-]{43}/);

    // The search still finds it, marked.
    await page.goto("/admin/users");
    await page.getByLabel("Email").fill(user.email);
    await page.getByRole("button", { name: "Find account" }).click();
    await expect(page).toHaveURL(new RegExp(`/admin/users/${user.id}$`));
    await expect(page.getByTestId("deletion-pending")).toBeVisible();
    await expect(page.getByTestId("deletion-pending-note")).toContainText("erased after");
    const audited =
      await db`select details->>'admin_id' as admin_id from audit_events where event = 'account.deletion_requested' and user_id = ${user.id}`;
    expect(audited).toEqual([{ admin_id: admin.id }]);
  });

  test("the audit log filters by exact email and exports the same rows as CSV; the admin pages pass axe", async ({ page, createUser }) => {
    const admin = await createUser({ email: E2E.adminEmail });
    const user = await createUser();
    await signInWithTwoFactorOn(page, admin);
    await openAccount(page, user);
    await expectNoSeriousViolations(page);

    await page.goto("/admin/audit");
    await page.getByLabel("Exact email").fill(user.email);
    await page.getByRole("button", { name: "Filter" }).click();
    // The look-up above is the one event recorded under this address.
    await expect(page.getByTestId("audit-row")).toHaveCount(1);
    await expect(page.getByTestId("audit-row")).toContainText("admin.user_looked_up");
    await expectNoSeriousViolations(page);

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download these events as CSV" }).click(),
    ]);
    const csv = await (await download.createReadStream()).toArray();
    const lines = Buffer.concat(csv).toString("utf8").trim().split("\r\n");
    expect(lines[0]).toBe("created_at,event,user_id,email_fingerprint,ip,user_agent,details");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain("admin.user_looked_up");
    expect(lines.join("\n")).not.toContain(user.email);
  });

  test("an admin signed in without a second factor is told how to get one, and no admin page, download or action works for that session", async ({
    page,
    createUser,
    db,
  }) => {
    const admin = await createUser({ email: E2E.adminEmail });
    const victim = await createUser();
    await signIn(page, admin);

    // A page that says why and what to do, not a 404 and not an error.
    const shown = await page.goto("/admin");
    expect(shown?.status()).toBe(200);
    await expect(page).toHaveURL(/\/account\/admin-two-factor$/);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Admin pages need two-factor authentication");
    await expect(page.getByText("this session was signed in with your password alone")).toBeVisible();
    await expect(page.getByRole("link", { name: "your two-factor page" })).toHaveAttribute("href", "/account/two-factor");
    await expectNoSeriousViolations(page);

    const passwordOnly = await cookieOf(page);
    const paths = ["/admin", "/admin/users", `/admin/users/${victim.id}`, "/admin/audit", "/admin/audit/export"];
    for (const path of paths) {
      const response = await rawRequest({ method: "GET", path, headers: { host: `localhost:${E2E.appPort}`, cookie: passwordOnly } });
      expect([303, 307], `GET ${path}`).toContain(response.status);
      expect(response.headers.location, `GET ${path}`).toMatch(/\/account\/admin-two-factor$/);
      expect(response.body, `GET ${path}`).not.toContain(victim.email);
    }

    // Turned on in this session: the code that confirmed the new authenticator is a second
    // factor passed on this session, so it is admitted from now on. (enableTwoFactor opens the
    // page itself: a second load while the link's is under way would offer a second setup key.)
    const { authenticator } = await enableTwoFactor(page);
    await page.goto("/admin");
    await expect(page.getByRole("heading", { name: "Recovery dashboard" })).toBeVisible();
    // The action ids, from the page an admitted admin sees.
    const html = (
      await rawRequest({
        method: "GET",
        path: `/admin/users/${victim.id}`,
        headers: { host: `localhost:${E2E.appPort}`, cookie: await cookieOf(page) },
      })
    ).body;
    const ids = actionIds(html);
    expect(ids).toHaveLength(3); // "Sign out everywhere", "Force password reset" and "Delete account"

    // A session of an account with two-factor on that did not pass it. None lives otherwise
    // (turning two-factor on ends every such session), so the database marks this one so: the
    // page now says to sign in again, and the actions posted straight at the server are refused.
    await db`update sessions set second_factor_at = null where user_id = ${admin.id}`;
    const withoutCode = await cookieOf(page);
    await page.goto("/admin");
    await expect(page).toHaveURL(/\/account\/admin-two-factor$/);
    await expect(page.getByText("Two-factor authentication is already on for your account")).toBeVisible();
    await expectNoSeriousViolations(page);
    for (const id of ids) {
      const form = multipart({ [id]: "", userId: victim.id, email: victim.email });
      const response = await rawRequest({
        method: "POST",
        path: `/admin/users/${victim.id}`,
        headers: { host: `localhost:${E2E.appPort}`, origin: E2E.appUrl, "content-type": form.contentType, cookie: withoutCode },
        body: form.body,
      });
      expect(response.status, `POST ${id}`).toBe(303);
      expect(response.headers.location, `POST ${id}`).toMatch(/\/account\/admin-two-factor$/);
    }
    const [row] =
      await db`select password_hash is not null as has_password, password_reset_forced_at, deletion_requested_at from users where id = ${victim.id}`;
    expect(row).toEqual({ has_password: true, password_reset_forced_at: null, deletion_requested_at: null });
    const acted =
      await db`select event from audit_events where user_id = ${victim.id} and event in ('admin.sessions_revoked', 'admin.password_reset_forced', 'account.deletion_requested')`;
    expect(acted).toEqual([]);

    // Doing what the page says works: sign out, sign in again with a code.
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login/);
    await signInWithSecondFactor(page, admin, { code: await authenticator.code() });
    await page.goto("/admin");
    await expect(page.getByRole("heading", { name: "Recovery dashboard" })).toBeVisible();
  });
});
