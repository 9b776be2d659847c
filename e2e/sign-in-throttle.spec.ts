import type { Page } from "@playwright/test";
import { expect, test, uniqueEmail, uniqueIp } from "./support/fixtures";

const WRONG_PASSWORD = "Wrong-Password-1";
const THROTTLED = "Too many sign-in attempts. Try again in 15 minutes.";

async function trySignIn(page: Page, email: string, password: string): Promise<string | null> {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  const alert = page.getByTestId("form-error");
  await expect(alert).toBeVisible();
  return alert.textContent();
}

test.describe("sign-in throttling (each test is its own client IP)", () => {
  test("a known address: 10 wrong passwords, then even the right one gets 'Too many sign-in attempts'", async ({ page, createUser }) => {
    const user = await createUser();
    for (let i = 1; i <= 10; i++)
      expect(await trySignIn(page, user.email, WRONG_PASSWORD), `attempt ${i}`).toBe("Incorrect email or password.");

    expect(await trySignIn(page, user.email, user.password)).toBe(THROTTLED);
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByLabel("Email")).toHaveValue(user.email);
  });

  test("an unknown address: the same 10 attempts, then the same message", async ({ page }) => {
    const email = uniqueEmail("nobody");
    for (let i = 1; i <= 10; i++) expect(await trySignIn(page, email, WRONG_PASSWORD), `attempt ${i}`).toBe("Incorrect email or password.");

    expect(await trySignIn(page, email, WRONG_PASSWORD)).toBe(THROTTLED);
    await expect(page).toHaveURL(/\/login$/);
  });

  test("the account can still sign in from another IP while one IP is throttled", async ({ page, browser, createUser }) => {
    const user = await createUser();
    for (let i = 1; i <= 10; i++) await trySignIn(page, user.email, WRONG_PASSWORD);
    expect(await trySignIn(page, user.email, user.password)).toBe(THROTTLED);

    const elsewhere = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-for": uniqueIp() } });
    const other = await elsewhere.newPage();
    await other.goto("/login");
    await other.getByLabel("Email").fill(user.email);
    await other.getByLabel("Password", { exact: true }).fill(user.password);
    await other.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(other).toHaveURL(/\/account$/);
    await elsewhere.close();
  });
});
