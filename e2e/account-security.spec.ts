import type { Page } from "@playwright/test";
import { expect, signIn, test } from "./support/fixtures";

const NEW_PASSWORD = "Brand-New-Pass-31";

async function changePassword(page: Page, current: string, next: string): Promise<void> {
  await page.goto("/account/password");
  await page.getByLabel("Current password").fill(current);
  await page.getByLabel("New password", { exact: true }).fill(next);
  await page.getByLabel("Confirm new password").fill(next);
  await page.getByRole("button", { name: "Change password" }).click();
}

test.describe("change password", () => {
  test("a wrong current password is a field error; the right one changes it, signs out the other browser and keeps this one", async ({
    page,
    browser,
    createUser,
    mailbox,
    ip,
  }) => {
    const user = await createUser();
    const other = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-for": ip } });
    const otherPage = await other.newPage();
    await signIn(otherPage, user);
    await signIn(page, user);

    await changePassword(page, "Not-My-Password-1", NEW_PASSWORD);
    await expect(page.getByText("That is not your current password.")).toBeVisible();
    await expect(page.getByLabel("Current password")).toBeFocused();

    await changePassword(page, user.password, NEW_PASSWORD);
    await expect(page).toHaveURL(/\/account\?notice=password-changed$/);
    await expect(page.getByText("Your password has been changed. Every other device has been signed out.")).toBeVisible();
    await page.reload();
    await expect(page.getByTestId("account-email")).toHaveText(user.email);

    await otherPage.reload();
    await expect(otherPage).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
    await signIn(otherPage, { email: user.email, password: NEW_PASSWORD });
    await other.close();

    const notice = await mailbox.waitFor(user.email, /password was changed/i);
    expect(notice.text).toMatch(/\/wasnt-me\/[A-Za-z0-9_-]{43}/);
  });

  test("the form works without JavaScript", async ({ browser, createUser, ip }) => {
    const user = await createUser();
    const context = await browser.newContext({ javaScriptEnabled: false, extraHTTPHeaders: { "x-forwarded-for": ip } });
    const page = await context.newPage();
    await signIn(page, user);
    await changePassword(page, user.password, "short");
    await expect(page.getByText("Use 8 to 128 characters.")).toBeVisible();
    await changePassword(page, user.password, NEW_PASSWORD);
    await expect(page).toHaveURL(/\/account\?notice=password-changed$/);
    await context.close();
  });

  test("after 5 wrong current passwords the form says to wait", async ({ page, createUser }) => {
    const user = await createUser();
    await signIn(page, user);
    for (let i = 0; i < 5; i++) {
      await changePassword(page, `Wrong-Guess-${i}x`, NEW_PASSWORD);
      await expect(page.getByText("That is not your current password.")).toBeVisible();
    }
    await changePassword(page, user.password, NEW_PASSWORD);
    await expect(page.getByTestId("form-error")).toHaveText(/^Too many wrong passwords\. Try again in \d+ minutes?\.$/);
  });
});

test.describe("this wasn't me", () => {
  test("the link ends every session, locks the changed password and sends a reset link", async ({
    page,
    browser,
    createUser,
    mailbox,
    ip,
  }) => {
    const user = await createUser();
    await signIn(page, user);
    await changePassword(page, user.password, NEW_PASSWORD);
    await expect(page).toHaveURL(/\/account\?notice=password-changed$/);
    const report = await mailbox.link(user.email, /password was changed/i, "/wasnt-me/");

    // The real owner opens the link elsewhere; opening alone changes nothing.
    const owner = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-for": ip } });
    const ownerPage = await owner.newPage();
    await ownerPage.goto(report);
    await ownerPage.reload();
    await page.reload();
    await expect(page.getByTestId("account-email")).toHaveText(user.email);

    await expect(ownerPage.getByRole("heading", { name: "Wasn't you?" })).toBeVisible();
    await ownerPage.getByRole("button", { name: "Secure my account" }).click();
    await expect(ownerPage.getByRole("heading", { name: "Your account is secured" })).toBeVisible();

    await page.reload();
    await expect(page).toHaveURL(/\/login\?callbackUrl=%2Faccount/);
    for (const password of [NEW_PASSWORD, user.password]) {
      await page.getByLabel("Email").fill(user.email);
      await page.getByLabel("Password", { exact: true }).fill(password);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(page.getByTestId("form-error")).toHaveText("Incorrect email or password.");
    }

    const resetLink = await mailbox.resetLink(user.email);
    await ownerPage.goto(resetLink);
    await ownerPage.getByLabel("New password", { exact: true }).fill("Owner-Takes-Back-9");
    await ownerPage.getByLabel("Confirm new password").fill("Owner-Takes-Back-9");
    await ownerPage.getByRole("button", { name: "Set new password" }).click();
    await expect(ownerPage).toHaveURL(/\/login\?notice=password-reset$/);
    await signIn(ownerPage, { email: user.email, password: "Owner-Takes-Back-9" });

    await ownerPage.goto(report);
    await expect(ownerPage.getByRole("heading", { name: "This link has already been used" })).toBeVisible();
    await owner.close();
  });
});
