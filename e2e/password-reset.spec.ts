import { E2E } from "./support/settings";
import type { Page } from "@playwright/test";
import { STRONG_PASSWORD, expect, signIn, test, uniqueEmail, unknownAddressesDecided } from "./support/fixtures";

const NEW_PASSWORD = "Fresh-Start-2026!";
const ANSWER = /^If an account exists for that email, we've sent a link to reset your password\. It expires in 60 minutes\.$/;

async function requestReset(page: Page, email: string): Promise<string> {
  await page.goto("/forgot-password");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send reset link" }).click();
  const answer = page.getByTestId("forgot-password-answer");
  await expect(answer).toHaveText(ANSWER);
  return (await answer.textContent()) ?? "";
}

async function setNewPassword(page: Page, password: string, confirm = password): Promise<void> {
  await page.getByLabel("New password", { exact: true }).fill(password);
  await page.getByLabel("Confirm new password").fill(confirm);
  await page.getByRole("button", { name: "Set new password" }).click();
}

test.describe("password reset", () => {
  test("request, read the email, follow the link, set a new password, sign in with it", async ({ page, browser, createUser, mailbox }) => {
    const user = await createUser();
    await requestReset(page, user.email);

    const link = await mailbox.resetLink(user.email);
    expect(link.startsWith(`${E2E.appUrl}/reset-password/`)).toBe(true);
    const email = await mailbox.waitFor(user.email, /reset your rekey password/i);
    expect(email.text).toContain("60 minutes");
    expect(email.text).toMatch(/wasn't you, ignore this email/);

    await page.goto(link);
    await expect(page.getByRole("heading", { name: "Choose a new password" })).toBeVisible();
    await expect(page.getByTestId("masked-email")).toHaveText(`${user.email[0]}***@example.com`);
    await setNewPassword(page, NEW_PASSWORD);

    await expect(page).toHaveURL(/\/login\?notice=password-reset$/);
    await expect(page.getByText("Your password has been changed. Sign in with your new password.")).toBeVisible();
    await signIn(page, { email: user.email, password: NEW_PASSWORD });

    // The old password no longer works, in a browser that never saw the new one.
    const other = await browser.newContext();
    const otherPage = await other.newPage();
    await otherPage.goto("/login");
    await otherPage.getByLabel("Email").fill(user.email);
    await otherPage.getByLabel("Password", { exact: true }).fill(user.password);
    await otherPage.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(otherPage.getByTestId("form-error")).toHaveText("Incorrect email or password.");

    // The same link is spent.
    await otherPage.goto(link);
    await expect(otherPage.getByRole("heading", { name: "This link has already been used" })).toBeVisible();
    await expect(otherPage.getByRole("link", { name: "Request a new link" })).toHaveAttribute("href", "/forgot-password");
    await other.close();

    const changed = await mailbox.waitFor(user.email, /password was changed/i);
    expect(changed.text).toMatch(/IP address: 198\.\d+\.\d+\.\d+/);
    expect(changed.text).toMatch(/Browser: Chrome/);
  });

  test("an unknown email gets the identical answer, in the same status, and no email", async ({ page, createUser, mailbox, db, ip }) => {
    const user = await createUser();
    const unknown = uniqueEmail("nobody");

    const statuses: number[] = [];
    page.on("response", (r) => {
      if (r.request().method() === "POST" && r.url().endsWith("/forgot-password")) statuses.push(r.status());
    });
    const known = await requestReset(page, user.email);
    const stranger = await requestReset(page, unknown);

    expect(stranger).toBe(known);
    expect(statuses).toEqual([200, 200]);
    await mailbox.waitFor(user.email, /reset your rekey password/i);
    // The stranger's request is decided after its answer, by a job: once it has recorded that
    // no account exists, no email can follow, and the mailbox is checked then.
    await unknownAddressesDecided(db, ip);
    expect(await mailbox.messages(unknown)).toEqual([]);
  });

  test("a malformed address gets a field error and nothing is sent", async ({ page }) => {
    await page.goto("/forgot-password");
    await page.getByLabel("Email").fill("not-an-email");
    await page.getByRole("button", { name: "Send reset link" }).click();
    await expect(page.getByText("Enter a valid email address, like name@example.com.")).toBeVisible();
    await expect(page.getByLabel("Email")).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByLabel("Email")).toBeFocused();
  });

  test("the submit button shows a pending state and cannot be pressed twice", async ({ page, createUser, mailbox }) => {
    const user = await createUser();
    await page.goto("/forgot-password");
    await page.getByLabel("Email").fill(user.email);

    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let posts = 0;
    await page.route("**/forgot-password", async (route) => {
      if (route.request().method() !== "POST") return route.continue();
      posts += 1;
      await held;
      await route.continue();
    });

    await page.getByRole("button", { name: "Send reset link" }).click();
    const pending = page.getByRole("button", { name: "Sending…" });
    await expect(pending).toBeDisabled();
    await pending.click({ force: true });
    await page.keyboard.press("Enter");
    release();
    await expect(page.getByTestId("forgot-password-answer")).toHaveText(ANSWER);
    expect(posts).toBe(1);
    await mailbox.waitFor(user.email, /reset your rekey password/i);
  });

  test("mismatch, policy failures and the current password are field errors, and the link stays valid", async ({
    page,
    createUser,
    mailbox,
  }) => {
    const user = await createUser();
    await requestReset(page, user.email);
    const link = await mailbox.resetLink(user.email);
    await page.goto(link);

    await setNewPassword(page, NEW_PASSWORD, "Something-Else-1");
    await expect(page.getByText("The passwords do not match.")).toBeVisible();

    await setNewPassword(page, "alllowercase");
    const errors = page.locator(".field-error").first();
    await expect(errors).toContainText("Add an upper-case letter.");
    await expect(errors).toContainText("Add a digit.");

    // Only the server knows the current password.
    await setNewPassword(page, STRONG_PASSWORD);
    await expect(page.getByText("Choose a password different from your current one.")).toBeVisible();
    await expect(page.getByLabel("New password", { exact: true })).toBeFocused();
    await expect(page).toHaveURL(link);

    await page.reload();
    await expect(page.getByRole("heading", { name: "Choose a new password" })).toBeVisible();
    await setNewPassword(page, NEW_PASSWORD);
    await expect(page).toHaveURL(/\/login\?notice=password-reset$/);
  });

  test("the live checklist ticks each rule as the user types", async ({ page, createUser, mailbox }) => {
    const user = await createUser();
    await requestReset(page, user.email);
    await page.goto(await mailbox.resetLink(user.email));
    const rule = (id: string) => page.locator(`[data-rule="${id}"]`);
    const field = page.getByLabel("New password", { exact: true });

    await field.fill("abc");
    await expect(rule("lower")).toHaveAttribute("data-met", "true");
    await expect(rule("upper")).toHaveAttribute("data-met", "false");
    await expect(rule("length")).toHaveAttribute("data-met", "false");
    await field.fill("P@ssw0rd");
    await expect(rule("upper")).toHaveAttribute("data-met", "true");
    await expect(rule("special")).toHaveAttribute("data-met", "true");
    await expect(rule("common")).toHaveAttribute("data-met", "false");
    await field.fill(NEW_PASSWORD);
    await expect(rule("common")).toHaveAttribute("data-met", "true");

    await expect(field).toHaveAttribute("type", "password");
    await page.getByRole("button", { name: "Show new password" }).click();
    await expect(field).toHaveAttribute("type", "text");
    await expect(page.getByRole("button", { name: "Hide new password" })).toHaveAttribute("aria-pressed", "true");
  });

  test("every browser signed in before the reset is signed out on its next request", async ({
    browser,
    createUser,
    mailbox,
    ip,
    baseURL,
  }) => {
    const user = await createUser();
    const contexts = await Promise.all([1, 2].map(() => browser.newContext({ extraHTTPHeaders: { "x-forwarded-for": ip } })));
    const pages = await Promise.all(contexts.map((c) => c.newPage()));
    for (const p of pages) await signIn(p, user);
    const oldCookies = await Promise.all(
      contexts.map(async (c) => (await c.cookies()).find((k) => k.name === "authjs.session-token")?.value),
    );
    expect(oldCookies.every(Boolean)).toBe(true);

    const resetter = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-for": ip } });
    const resetPage = await resetter.newPage();
    await requestReset(resetPage, user.email);
    await resetPage.goto(await mailbox.resetLink(user.email));
    await setNewPassword(resetPage, NEW_PASSWORD);
    await expect(resetPage).toHaveURL(/\/login\?notice=password-reset$/);

    for (const p of pages) {
      await p.reload();
      await expect(p).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
    }
    // Replaying a stolen cookie after the reset gets nobody.
    for (const cookie of oldCookies) {
      const response = await fetch(`${baseURL}/api/auth/session`, { headers: { cookie: `authjs.session-token=${cookie}` } });
      expect(response.status).toBe(200);
      const body = await response.json();
      expect(body?.user).toBeUndefined();
    }
    await Promise.all([...contexts, resetter].map((c) => c.close()));
  });
});

test.describe("password reset without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the whole flow works as plain form posts", async ({ page, createUser, mailbox }) => {
    const user = await createUser();
    await page.goto("/forgot-password");
    await page.getByLabel("Email").fill("bad address");
    await page.getByRole("button", { name: "Send reset link" }).click();
    await expect(page.getByText("Enter a valid email address, like name@example.com.")).toBeVisible();
    await expect(page.getByLabel("Email")).toHaveValue("bad address");

    await page.getByLabel("Email").fill(user.email);
    await page.getByRole("button", { name: "Send reset link" }).click();
    await expect(page.getByTestId("forgot-password-answer")).toHaveText(ANSWER);

    await page.goto(await mailbox.resetLink(user.email));
    await setNewPassword(page, NEW_PASSWORD, "Not-The-Same-1");
    await expect(page.getByText("The passwords do not match.")).toBeVisible();
    await setNewPassword(page, NEW_PASSWORD);
    await expect(page).toHaveURL(/\/login\?notice=password-reset$/);

    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page).toHaveURL(/\/account$/);
  });
});
