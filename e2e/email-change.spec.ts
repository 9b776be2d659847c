// Changing the account's email address (issue 22), from outside in Chromium and over the API:
// both emails read from the Resend stand-in, the undo link, a pending change cancelled by a
// reset, the bearer path, and the whole flow without JavaScript.
import type { Page } from "@playwright/test";
import { PATHS, bearerTokenFor, call, errorCode, expectContract } from "./api/support/api";
import { expect, signIn, test, uniqueEmail, type Mailbox } from "./support/fixtures";

const CONFIRM_SUBJECT = /confirm your new rekey email address/i;
const CHANGED_SUBJECT = /email address of your rekey account was changed/i;
const SENT = /^We sent a confirmation link to the new address\./;
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

/** Asks for the change on /account/email, signed in and within the "Confirm it's you" window. */
async function askForChange(page: Page, newEmail: string): Promise<void> {
  await page.goto("/account/email");
  await page.getByLabel("New email address").fill(newEmail);
  await page.getByRole("button", { name: "Send confirmation link" }).click();
  await expect(page.getByTestId("email-change-sent")).toHaveText(SENT);
}

/** Opens the link sent to `newEmail` and confirms it with `password`. */
async function confirmChange(page: Page, mailbox: Mailbox, newEmail: string, password: string): Promise<void> {
  await page.goto(await mailbox.link(newEmail, CONFIRM_SUBJECT, "/email-change/"));
  await expect(page.getByRole("heading", { name: "Confirm your new email address" })).toBeVisible();
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Confirm new email address" }).click();
  await expect(page.getByRole("heading", { name: "Your email address is changed" })).toBeVisible();
}

test.describe("email change", () => {
  test("the full change with both emails, then the undo link puts the old address back", async ({ page, createUser, mailbox, db }) => {
    const user = await createUser();
    const newEmail = uniqueEmail("moved");
    await signIn(page, user);
    await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Email" }).click();
    await expect(page.getByTestId("current-email")).toHaveText(user.email);
    await askForChange(page, newEmail);

    // Nothing changed yet: the old address still signs in.
    expect((await db`select email from users where id = ${user.id}`)[0]?.email).toBe(user.email);

    // The link alone changes nothing: a wrong password is refused and the link stays valid.
    await page.goto(await mailbox.link(newEmail, CONFIRM_SUBJECT, "/email-change/"));
    await page.getByLabel("Password", { exact: true }).fill("Not-The-Password-1");
    await page.getByRole("button", { name: "Confirm new email address" }).click();
    await expect(page.getByText(/That is not the account's password\. Nothing changed/)).toBeVisible();
    await confirmChange(page, mailbox, newEmail, user.password);
    expect((await db`select email from users where id = ${user.id}`)[0]?.email).toBe(newEmail);
    await page.goto("/account");
    await expect(page.getByTestId("account-email")).toHaveText(newEmail);

    const notice = await mailbox.waitFor(user.email, CHANGED_SUBJECT);
    expect(notice.text).toContain(`${newEmail[0]}***@`);
    const undo = await mailbox.link(user.email, CHANGED_SUBJECT, "/email-change/undo/");
    await page.goto(undo);
    await page.getByRole("button", { name: "Undo the change and secure my account" }).click();
    await expect(page.getByRole("heading", { name: "Your email address is back" })).toBeVisible();
    expect((await db`select email from users where id = ${user.id}`)[0]?.email).toBe(user.email);
    // Every session ended, and a reset link went to the old address.
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login/);
    await mailbox.resetLink(user.email);
  });

  test("a pending change is cancelled by a password reset", async ({ page, createUser, mailbox, db }) => {
    const user = await createUser();
    const newEmail = uniqueEmail("cancelled");
    await signIn(page, user);
    await askForChange(page, newEmail);
    const link = await mailbox.link(newEmail, CONFIRM_SUBJECT, "/email-change/");

    await page.goto("/forgot-password");
    await page.getByLabel("Email").fill(user.email);
    await page.getByRole("button", { name: "Send reset link" }).click();
    await page.goto(await mailbox.resetLink(user.email));
    await page.getByLabel("New password", { exact: true }).fill("Fresh-Start-2026!");
    await page.getByLabel("Confirm new password").fill("Fresh-Start-2026!");
    await page.getByRole("button", { name: "Set new password" }).click();
    await expect(page).toHaveURL(/\/login\?notice=password-reset$/);

    await page.goto(link);
    await expect(page.getByRole("heading", { name: "This link no longer works" })).toBeVisible();
    expect((await db`select email from users where id = ${user.id}`)[0]?.email).toBe(user.email);
  });

  test("works without JavaScript", async ({ browser, createUser, mailbox, ip }) => {
    const context = await browser.newContext({ javaScriptEnabled: false, extraHTTPHeaders: { "x-forwarded-for": ip } });
    const page = await context.newPage();
    const user = await createUser();
    const newEmail = uniqueEmail("nojs");
    await page.goto("/login");
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page).toHaveURL(/\/account$/);
    await page.goto("/account/email");
    await page.getByRole("button", { name: "Send confirmation link" }).click();
    await expect(page.getByText("Enter your email address.")).toBeVisible();
    await page.getByLabel("New email address").fill(user.email);
    await page.getByRole("button", { name: "Send confirmation link" }).click();
    await expect(page.getByText("That is already your email address.")).toBeVisible();
    await askForChange(page, newEmail);
    await confirmChange(page, mailbox, newEmail, user.password);
    await context.close();
  });

  test("over the API with a bearer token: 202 for a free and a taken address alike, then the link and the password", async ({
    request,
    createUser,
    mailbox,
  }) => {
    const user = await createUser();
    const owner = await createUser();
    const newEmail = uniqueEmail("api");
    const token = await bearerTokenFor(request, user);
    const other = await bearerTokenFor(request, user, "another app");
    const operation = { method: "post", path: PATHS.changeEmail } as const;

    const taken = await call(request, PATHS.changeEmail, { json: { new_email: owner.email }, headers: auth(token) });
    const free = await call(request, PATHS.changeEmail, { json: { new_email: newEmail }, headers: auth(token) });
    expect(taken.status).toBe(202);
    expect(free.status).toBe(202);
    expect(taken.body).toEqual(free.body);
    await expectContract(free, operation);
    await mailbox.waitFor(owner.email, /someone tried to use your email address/i);

    const link = await mailbox.link(newEmail, CONFIRM_SUBJECT, "/email-change/");
    const linkToken = link.split("/").pop()!;
    const confirmOperation = { method: "post", path: PATHS.confirmEmailChange } as const;
    const wrong = await call(request, PATHS.confirmEmailChange, { json: { token: linkToken, password: "Not-The-Password-1" } });
    expect(wrong.status).toBe(422);
    expect(errorCode(wrong)).toBe("invalid_current_password");
    await expectContract(wrong, confirmOperation);
    const confirmed = await call(request, PATHS.confirmEmailChange, {
      json: { token: linkToken, password: user.password },
      headers: auth(token),
    });
    expect(confirmed.status).toBe(200);
    await expectContract(confirmed, confirmOperation);

    const me = await call(request, PATHS.me, { method: "GET", headers: auth(token) });
    expect((me.body as { email: string }).email).toBe(newEmail);
    expect((await call(request, PATHS.me, { method: "GET", headers: auth(other) })).status).toBe(401);
    const again = await call(request, PATHS.confirmEmailChange, { json: { token: linkToken, password: user.password } });
    expect(errorCode(again)).toBe("used_token");
  });

  test("over the API with the session cookie: 202, and a cross-site request is refused", async ({ page, createUser, mailbox }) => {
    const user = await createUser();
    const newEmail = uniqueEmail("cookie");
    await signIn(page, user);
    const crossSite = await call(page.request, PATHS.changeEmail, {
      json: { new_email: newEmail },
      headers: { origin: "https://evil.example" },
    });
    expect(crossSite.status).toBe(403);
    expect(errorCode(crossSite)).toBe("cross_site_request");
    const accepted = await call(page.request, PATHS.changeEmail, { json: { new_email: newEmail } });
    expect(accepted.status).toBe(202);
    await expectContract(accepted, { method: "post", path: PATHS.changeEmail });
    await confirmChange(page, mailbox, newEmail, user.password);
    // The confirming browser stays signed in, on the new address.
    await page.goto("/account");
    await expect(page.getByTestId("account-email")).toHaveText(newEmail);
  });

  test('the API asks a session outside the window to "Confirm it\'s you"', async ({ request, createUser, db }) => {
    const user = await createUser();
    const token = await bearerTokenFor(request, user);
    await db`update sessions set created_at = now() - interval '1 hour', password_checked_at = null where user_id = ${user.id}`;
    const json = { new_email: uniqueEmail("late") };
    const refused = await call(request, PATHS.changeEmail, { json, headers: auth(token) });
    expect(refused.status).toBe(403);
    expect(errorCode(refused)).toBe("confirmation_required");
    await expectContract(refused, { method: "post", path: PATHS.changeEmail });
    const wrong = await call(request, PATHS.changeEmail, { json: { ...json, password: "Not-The-Password-1" }, headers: auth(token) });
    expect(errorCode(wrong)).toBe("invalid_current_password");
    const accepted = await call(request, PATHS.changeEmail, { json: { ...json, password: user.password }, headers: auth(token) });
    expect(accepted.status).toBe(202);
  });
});
