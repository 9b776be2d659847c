import type { APIRequestContext, Browser, BrowserContext, Page } from "@playwright/test";
import { expectNoSeriousViolations } from "./support/axe";
import { expect, signIn, test, uniqueIp, type TestUser } from "./support/fixtures";
import { actionFieldsIn } from "./support/forms";
import { E2E } from "./support/settings";
import { enableTwoFactor } from "./support/two-factor";
import { enterCode, enterRecoveryCode, passwordStep, signInWithSecondFactor } from "./support/two-factor-sign-in";

const WRONG_CODE = "That code is not right. Enter the code your authenticator app shows now.";
const WRONG_RECOVERY_CODE = "That recovery code is not right, or it was already used.";
const TOO_MANY = /^Too many wrong codes for this account\. Try again in 1[45] minutes\.$/;

/** A user with two-factor authentication on (enrolled through /account/two-factor in `page`). */
async function enrolledUser(page: Page, createUser: () => Promise<TestUser>) {
  const user = await createUser();
  await signIn(page, user);
  return { user, ...(await enableTwoFactor(page)) };
}

/** Another browser: its own cookies and client address; JavaScript on unless told. */
async function otherBrowser(
  browser: Browser,
  options: { javaScriptEnabled?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ...options, extraHTTPHeaders: { "x-forwarded-for": uniqueIp() } });
  return { context, page: await context.newPage() };
}

/** The session cookies a request context holds. */
async function sessionCookies(request: APIRequestContext) {
  return (await request.storageState()).cookies.filter((c) => c.name.endsWith("authjs.session-token") && c.value !== "");
}

async function sessionCount(db: import("postgres").Sql, userId: string): Promise<number> {
  const [row] = await db`select count(*)::int as n from sessions where user_id = ${userId}`;
  return row!.n as number;
}

test.describe("signing in with a second factor", () => {
  // Several codes in a row may wait for the authenticator's next 30-second step.
  test.describe.configure({ timeout: 150_000 });

  test("enrol, sign out, sign in: the password alone gives no session; the code lands where the sign-in was going", async ({
    page,
    createUser,
    db,
  }) => {
    const { user, authenticator } = await enrolledUser(page, createUser);
    await page.goto("/account");
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login\?notice=signed-out$/);
    const before = await sessionCount(db, user.id);

    await passwordStep(page, user, "/login?callbackUrl=%2Faccount%2Fsessions");
    expect(await sessionCount(db, user.id)).toBe(before);
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);

    await page.goto("/login/two-factor?callbackUrl=%2Faccount%2Fsessions");
    // Someone who lost both the app and the codes is told what to do.
    await page.getByText("Lost your authenticator and your recovery codes?").click();
    await expect(
      page.getByText(/^Contact support\. Neither your password nor a reset link alone can turn two-factor authentication off/),
    ).toBeVisible();
    await enterCode(page, "000000");
    await expect(page.getByText(WRONG_CODE)).toBeVisible();
    await enterCode(page, await authenticator.code());
    await expect(page).toHaveURL(/\/account\/sessions$/);
    await expect(page.getByTestId("session-row").filter({ hasText: "This device" }).getByTestId("second-factor")).toHaveText(
      "Two-factor verified",
    );

    // The pending step's cookie is gone with it: the page now has nothing waiting.
    const names = (await page.context().cookies()).map((c) => c.name);
    expect(names.filter((n) => n.includes("sign-in-challenge"))).toEqual([]);
    const [signedIn] =
      await db`select details from audit_events where user_id = ${user.id} and event = 'user.signed_in' order by created_at desc limit 1`;
    expect(signedIn!.details).toEqual({ second_factor: true });
  });

  test("a recovery code signs in once and emails how many are left; the same code then fails", async ({
    page,
    browser,
    createUser,
    mailbox,
  }) => {
    const { user, recoveryCodes } = await enrolledUser(page, createUser);
    const first = await otherBrowser(browser);
    await passwordStep(first.page, user);
    await enterRecoveryCode(first.page, recoveryCodes[0]!.toLowerCase());
    await expect(first.page).toHaveURL(/\/account$/);
    const email = await mailbox.waitFor(user.email, /^A recovery code was used \(9 left\)$/);
    expect(email.text).not.toContain(recoveryCodes[0]!);

    const second = await otherBrowser(browser);
    await passwordStep(second.page, user);
    await enterRecoveryCode(second.page, recoveryCodes[0]!);
    await expect(second.page.getByText(WRONG_RECOVERY_CODE)).toBeVisible();
    await expect(second.page).toHaveURL(/\/login\/two-factor\?/);
    await second.page.getByLabel("Recovery code").fill(recoveryCodes[1]!);
    await second.page.getByRole("button", { name: "Verify" }).click();
    await expect(second.page).toHaveURL(/\/account$/);
    await first.context.close();
    await second.context.close();
  });

  test("a code that was accepted is refused when replayed in another browser", async ({ page, browser, createUser }) => {
    const { user, authenticator } = await enrolledUser(page, createUser);
    const code = await authenticator.code();
    const first = await otherBrowser(browser);
    await signInWithSecondFactor(first.page, user, { code });

    const replay = await otherBrowser(browser);
    await passwordStep(replay.page, user);
    await enterCode(replay.page, code);
    await expect(replay.page.getByText(WRONG_CODE)).toBeVisible();
    await expect(replay.page).toHaveURL(/\/login\/two-factor\?/);
    // The next code of the app still works there.
    await enterCode(replay.page, await authenticator.code());
    await expect(replay.page).toHaveURL(/\/account$/);
    await first.context.close();
    await replay.context.close();
  });

  test("15 wrong codes posted at once: exactly 5 are checked, 10 get the limit, the audit shows 5 failures, and then even the right code waits", async ({
    page,
    browser,
    createUser,
    db,
  }) => {
    const { user, authenticator } = await enrolledUser(page, createUser);
    const attacker = await otherBrowser(browser);
    await passwordStep(attacker.page, user);
    // The second-step form as this browser has it (its challenge cookie goes with every post).
    const html = await (await attacker.page.request.get("/login/two-factor?callbackUrl=%2Faccount")).text();
    const fields = actionFieldsIn(html, "/login/two-factor");
    const post = (otp: string) =>
      attacker.page.request.post("/login/two-factor?callbackUrl=%2Faccount", {
        headers: { origin: E2E.appUrl },
        multipart: { ...fields, method: "app", callbackUrl: "/account", otp },
        maxRedirects: 0,
      });
    const answers = await Promise.all(Array.from({ length: 15 }, (_, i) => post(String(100000 + i * 7919)).then((r) => r.text())));
    const checked = answers.filter((body) => body.includes(WRONG_CODE)).length;
    const limited = answers.filter((body) => /Too many wrong codes for this account\. Try again in 1[45] minutes\./.test(body)).length;
    expect({ checked, limited }).toEqual({ checked: 5, limited: 10 });
    const [failed] = await db`select count(*)::int as n from audit_events where user_id = ${user.id} and event = 'two_factor.code_failed'`;
    expect(failed!.n).toBe(5);
    expect(await sessionCount(db, user.id)).toBe(1);

    // The budget is the account's: the right code waits too, with the time to wait.
    await enterCode(attacker.page, await authenticator.code());
    await expect(attacker.page.getByTestId("form-error")).toHaveText(TOO_MANY);
    await attacker.context.close();
  });

  test("works without JavaScript: password, 'Use a recovery code', a wrong one, then a right one", async ({
    page,
    browser,
    createUser,
  }) => {
    const { user, recoveryCodes, authenticator } = await enrolledUser(page, createUser);
    const plain = await otherBrowser(browser, { javaScriptEnabled: false });
    await passwordStep(plain.page, user);
    await enterCode(plain.page, "12345");
    await expect(plain.page.getByText("Enter the 6-digit code from your authenticator app.")).toBeVisible();
    await enterCode(plain.page, "000000");
    await expect(plain.page.getByText(WRONG_CODE)).toBeVisible();

    await enterRecoveryCode(plain.page, "AAAA-BBBB-CCCC-DDDD");
    await expect(plain.page.getByText(WRONG_RECOVERY_CODE)).toBeVisible();
    await plain.page.getByLabel("Recovery code").fill(recoveryCodes[2]!);
    await plain.page.getByRole("button", { name: "Verify" }).click();
    await expect(plain.page).toHaveURL(/\/account$/);
    await plain.context.close();

    const again = await otherBrowser(browser, { javaScriptEnabled: false });
    await passwordStep(again.page, user);
    await enterCode(again.page, await authenticator.code());
    await expect(again.page).toHaveURL(/\/account$/);
    await again.context.close();
  });

  test("Auth.js's own credentials URL gives no session to a two-factor account (and does to one without)", async ({
    page,
    playwright,
    createUser,
    db,
    ip,
  }) => {
    const { user } = await enrolledUser(page, createUser);
    const plainUser = await createUser();
    const before = await sessionCount(db, user.id);

    for (const [who, expectSession] of [
      [user, false],
      [plainUser, true],
    ] as const) {
      const request = await playwright.request.newContext({ baseURL: E2E.appUrl, extraHTTPHeaders: { "x-forwarded-for": ip } });
      const { csrfToken } = (await (await request.get("/api/auth/csrf")).json()) as { csrfToken: string };
      const answer = await request.post("/api/auth/callback/credentials", {
        form: { email: who.email, password: who.password, csrfToken, callbackUrl: `${E2E.appUrl}/account` },
        maxRedirects: 0,
      });
      expect(answer.status()).toBe(302);
      if (expectSession) {
        expect(await sessionCookies(request)).toHaveLength(1);
      } else {
        expect(answer.headers().location).toContain("code=second_factor_required");
        expect(await sessionCookies(request)).toEqual([]);
        const setCookies = answer
          .headersArray()
          .filter((h) => h.name.toLowerCase() === "set-cookie")
          .map((h) => h.value);
        expect(setCookies.filter((c) => /session-token=[^;]/.test(c))).toEqual([]);
        const account = await request.get("/account", { maxRedirects: 0 });
        expect(account.status()).toBe(307);
      }
      await request.dispose();
    }
    expect(await sessionCount(db, user.id)).toBe(before);
  });

  test("the step ends after 5 minutes and belongs to the browser that typed the password", async ({ page, browser, createUser, db }) => {
    const { user, authenticator } = await enrolledUser(page, createUser);
    const typed = await otherBrowser(browser);
    await passwordStep(typed.page, user);

    // Another browser (no challenge cookie) has nothing to finish.
    const stranger = await otherBrowser(browser);
    await stranger.page.goto("/login/two-factor");
    await expect(stranger.page.getByTestId("second-step-ended")).toHaveText(
      "There is no sign-in waiting for a code in this browser. Sign in again.",
    );
    await expect(stranger.page.getByLabel("Authentication code")).toHaveCount(0);
    await expectNoSeriousViolations(stranger.page);
    await stranger.context.close();

    // Five minutes later (the database's clock decides): the right code no longer signs in.
    await db`update two_factor_challenges set expires_at = now() - interval '1 second' where user_id = ${user.id} and used_at is null`;
    await enterCode(typed.page, await authenticator.code());
    await expect(typed.page.getByTestId("second-step-ended")).toContainText("This sign-in has expired");
    await typed.page.getByRole("link", { name: "Sign in again" }).click();
    await expect(typed.page).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
    await typed.page.goto("/account");
    await expect(typed.page).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
    await typed.context.close();
  });

  test("the sessions page marks which sessions passed a second factor; changing the password keeps this browser's mark", async ({
    page,
    browser,
    createUser,
  }) => {
    // `page` turned two-factor on with a code from the new key: it passed a second factor too.
    const { user, authenticator } = await enrolledUser(page, createUser);
    const verified = await otherBrowser(browser);
    await passwordStep(verified.page, user, "/login?callbackUrl=%2Faccount%2Fsessions");
    await enterCode(verified.page, await authenticator.code());
    await expect(verified.page).toHaveURL(/\/account\/sessions$/);
    const rows = verified.page.getByTestId("session-row");
    await expect(rows).toHaveCount(2);
    await expect(rows.filter({ hasText: "This device" }).getByTestId("second-factor")).toHaveText("Two-factor verified");
    await expect(rows.filter({ hasNotText: "This device" }).getByTestId("second-factor")).toHaveText("Two-factor verified");
    await expectNoSeriousViolations(verified.page);

    // The current password only (this session already passed the second factor).
    await verified.page.goto("/account/password");
    await verified.page.getByLabel("Current password").fill(user.password);
    await verified.page.getByLabel("New password", { exact: true }).fill("Brand-New-Pass-61");
    await verified.page.getByLabel("Confirm new password").fill("Brand-New-Pass-61");
    await verified.page.getByRole("button", { name: "Change password" }).click();
    await expect(verified.page).toHaveURL(/\/account\?notice=password-changed$/);
    await verified.page.goto("/account/sessions");
    await expect(rows).toHaveCount(1);
    await expect(rows.getByTestId("second-factor")).toHaveText("Two-factor verified");
    await verified.context.close();
  });

  test("accessibility: the second step with and without an error, and the recovery-code form", async ({ page, browser, createUser }) => {
    const { user } = await enrolledUser(page, createUser);
    const other = await otherBrowser(browser);
    await passwordStep(other.page, user);
    await expectNoSeriousViolations(other.page);
    await enterCode(other.page, "000000");
    await expect(other.page.getByText(WRONG_CODE)).toBeVisible();
    await expect(other.page.getByLabel("Authentication code")).toHaveAttribute("aria-invalid", "true");
    await expectNoSeriousViolations(other.page);
    await other.page.getByRole("link", { name: "Use a recovery code" }).click();
    await expect(other.page.getByLabel("Recovery code")).toBeVisible();
    await expectNoSeriousViolations(other.page);
    await other.context.close();
  });
});
