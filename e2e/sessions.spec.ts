import type { Browser, BrowserContext, Locator, Page } from "@playwright/test";
import { expectNoSeriousViolations } from "./support/axe";
import { expect, signIn, test, uniqueIp, type TestUser } from "./support/fixtures";

const FIREFOX_ON_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_ON_MAC =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
const FIREFOX_ON_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0";
const WHEN = /^\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}, \d{2}:\d{2} UTC$/;

interface Elsewhere {
  context: BrowserContext;
  page: Page;
  ip: string;
}

/** The same user signed in from another browser (own cookies, user agent and IP). */
async function signInElsewhere(browser: Browser, user: TestUser, userAgent: string): Promise<Elsewhere> {
  const ip = uniqueIp();
  const context = await browser.newContext({ userAgent, extraHTTPHeaders: { "x-forwarded-for": ip } });
  const page = await context.newPage();
  await signIn(page, user);
  return { context, page, ip };
}

const rows = (page: Page): Locator => page.getByTestId("session-row");
const rowFor = (page: Page, text: string): Locator => rows(page).filter({ hasText: text });

async function expectSignedOutOnNextRequest(page: Page): Promise<void> {
  await page.reload();
  await expect(page).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
}

test.describe("sessions page", () => {
  test("lists both browsers with this one marked; signing out the other ends it on its next request", async ({
    page,
    browser,
    createUser,
    ip,
  }) => {
    const user = await createUser();
    await signIn(page, user);
    const firefox = await signInElsewhere(browser, user, FIREFOX_ON_WINDOWS);

    await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Sessions" }).click();
    await expect(page).toHaveURL(/\/account\/sessions$/);
    await expect(page.getByRole("heading", { name: "Sessions", level: 1 })).toBeVisible();
    await expect(rows(page)).toHaveCount(2);

    const mine = rowFor(page, "This device");
    await expect(mine).toHaveCount(1);
    await expect(mine).toContainText(/Chrome \d+/);
    await expect(mine).toContainText(ip);
    await expect(mine.getByRole("button")).toHaveCount(0);

    const other = rowFor(page, "Firefox 128 on Windows 10");
    await expect(other).not.toContainText("This device");
    await expect(other).toContainText(firefox.ip);
    for (const time of await other.locator("time").all()) await expect(time).toHaveText(WHEN);

    await other.getByRole("button", { name: /^Sign out Firefox 128 on Windows 10/ }).click();
    await expect(page).toHaveURL(/\/account\/sessions\?notice=signed-out-one$/);
    await expect(page.getByRole("status")).toHaveText("That session has been signed out.");
    await expect(rows(page)).toHaveCount(1);
    await expect(rowFor(page, "This device")).toHaveCount(1);

    await expectSignedOutOnNextRequest(firefox.page);
    await page.goto("/account");
    await expect(page.getByTestId("account-email")).toHaveText(user.email);
    await firefox.context.close();
  });

  test("'Sign out of all other sessions' ends every other browser and keeps this one", async ({ page, browser, createUser }) => {
    const user = await createUser();
    await signIn(page, user);
    const safari = await signInElsewhere(browser, user, SAFARI_ON_MAC);
    const firefox = await signInElsewhere(browser, user, FIREFOX_ON_LINUX);

    await page.goto("/account/sessions");
    await expect(rows(page)).toHaveCount(3);
    await expect(rowFor(page, "Safari 17 on macOS")).toHaveCount(1);
    await expect(rowFor(page, "Firefox 127 on Linux")).toHaveCount(1);

    await page.getByRole("button", { name: "Sign out of all other sessions" }).click();
    await expect(page).toHaveURL(/\/account\/sessions\?notice=signed-out-others$/);
    await expect(page.getByRole("status")).toHaveText("All your other sessions have been signed out.");
    await expect(rows(page)).toHaveCount(1);
    await expect(rowFor(page, "This device")).toHaveCount(1);
    await expect(page.getByRole("button", { name: "Sign out of all other sessions" })).toHaveCount(0);
    await expect(page.getByText("This is your only active session.")).toBeVisible();

    await expectSignedOutOnNextRequest(safari.page);
    await expectSignedOutOnNextRequest(firefox.page);
    await page.reload();
    await expect(rowFor(page, "This device")).toHaveCount(1);
    await page.goto("/account");
    await expect(page.getByTestId("account-email")).toHaveText(user.email);
    await Promise.all([safari.context.close(), firefox.context.close()]);
  });

  test("signed out, /account/sessions goes to sign-in and comes back after it", async ({ page, createUser }) => {
    const user = await createUser();
    await page.goto("/account/sessions");
    await expect(page).toHaveURL(/\/login\?callbackUrl=%2Faccount%2Fsessions$/);
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page).toHaveURL(/\/account\/sessions$/);
    await expect(rowFor(page, "This device")).toHaveCount(1);
  });

  test("has no serious or critical accessibility violation, with other sessions listed and after a sign-out", async ({
    page,
    browser,
    createUser,
  }) => {
    const user = await createUser();
    await signIn(page, user);
    const firefox = await signInElsewhere(browser, user, FIREFOX_ON_WINDOWS);
    await signInElsewhere(browser, user, SAFARI_ON_MAC);

    await page.goto("/account/sessions");
    await expect(rows(page)).toHaveCount(3);
    await expectNoSeriousViolations(page);

    await rowFor(page, "Firefox 128 on Windows 10")
      .getByRole("button", { name: /^Sign out/ })
      .click();
    await expect(page.getByRole("status")).toHaveText("That session has been signed out.");
    await expectNoSeriousViolations(page);
    await firefox.context.close();
  });
});

test.describe("sessions page without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("signing out another session and all other sessions work as plain form posts", async ({ page, browser, createUser }) => {
    const user = await createUser();
    await signIn(page, user);
    const firefox = await signInElsewhere(browser, user, FIREFOX_ON_WINDOWS);
    const safari = await signInElsewhere(browser, user, SAFARI_ON_MAC);
    const linux = await signInElsewhere(browser, user, FIREFOX_ON_LINUX);

    await page.goto("/account/sessions");
    await expect(rows(page)).toHaveCount(4);
    await rowFor(page, "Firefox 128 on Windows 10")
      .getByRole("button", { name: /^Sign out/ })
      .click();
    await expect(page).toHaveURL(/\/account\/sessions\?notice=signed-out-one$/);
    await expect(page.getByRole("status")).toHaveText("That session has been signed out.");
    await expect(rows(page)).toHaveCount(3);
    await expectSignedOutOnNextRequest(firefox.page);

    await page.getByRole("button", { name: "Sign out of all other sessions" }).click();
    await expect(page).toHaveURL(/\/account\/sessions\?notice=signed-out-others$/);
    await expect(rows(page)).toHaveCount(1);
    await expectSignedOutOnNextRequest(safari.page);
    await expectSignedOutOnNextRequest(linux.page);
    await page.goto("/account");
    await expect(page.getByTestId("account-email")).toHaveText(user.email);
    await Promise.all([firefox.context.close(), safari.context.close(), linux.context.close()]);
  });
});
