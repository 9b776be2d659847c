import { createHash } from "node:crypto";
import { verify } from "@node-rs/argon2";
import type { Page } from "@playwright/test";
import type { Sql } from "postgres";
import { call, errorCode, expectContract, PATHS, resetTokenFor } from "./api/support/api";
import { expectNoSeriousViolations } from "./support/axe";
import { expect, signIn, test, type Mailbox, type TestUser } from "./support/fixtures";
import { enableTwoFactor } from "./support/two-factor";

const NEW_PASSWORD = "Fresh-Start-2026!";
const reset = { method: "post", path: PATHS.reset } as const;
const verifyToken = { method: "post", path: PATHS.verify } as const;

async function fillNewPassword(page: Page, password = NEW_PASSWORD): Promise<void> {
  await page.getByLabel("New password", { exact: true }).fill(password);
  await page.getByLabel("Confirm new password").fill(password);
}

/** What the database says: is this the password now, how many sessions, is the link unused. */
async function accountState(db: Sql, user: TestUser, token: string) {
  const [row] = await db`select password_hash from users where id = ${user.id}`;
  const [sessions] = await db`select count(*)::int as n from sessions where user_id = ${user.id}`;
  const [link] =
    await db`select used_at from password_reset_tokens where user_id = ${user.id} and token_hash = ${createHash("sha256").update(token).digest("hex")}`;
  return {
    newPassword: await verify(row?.password_hash as string, NEW_PASSWORD),
    oldPassword: await verify(row?.password_hash as string, user.password),
    sessions: sessions?.n as number,
    linkUsed: link ? link.used_at !== null : "missing",
  };
}

/** A user with two-factor turned on through /account/two-factor, signed in on `page`. */
async function userWithTwoFactor(page: Page, createUser: () => Promise<TestUser>) {
  const user = await createUser();
  await signIn(page, user);
  return { user, ...(await enableTwoFactor(page)) };
}

async function linkFor(page: Page, mailbox: Mailbox, user: TestUser): Promise<{ link: string; token: string }> {
  const token = await resetTokenFor(page.request, mailbox, user.email);
  return { link: `/reset-password/${token}`, token };
}

test.describe("password reset with a second factor", () => {
  test("without a code nothing changes and the link still works; a wrong code is refused; with a code the password changes and every session ends", async ({
    page,
    browser,
    createUser,
    mailbox,
    db,
  }) => {
    const { user, authenticator } = await userWithTwoFactor(page, createUser);
    const { link, token } = await linkFor(page, mailbox, user);
    expect(await accountState(db, user, token)).toEqual({ newPassword: false, oldPassword: true, sessions: 1, linkUsed: false });

    // Whoever follows the link, in another browser: the mailbox alone is not enough.
    const context = await browser.newContext();
    const resetPage = await context.newPage();
    await resetPage.goto(link);
    await expect(resetPage.getByText("This account uses two-factor authentication")).toBeVisible();
    const code = resetPage.getByLabel("Authentication code");
    await expect(code).toBeVisible();
    // Someone who lost both is told what to do.
    await resetPage.getByText("Lost your authenticator and your recovery codes?").click();
    await expect(
      resetPage.getByText(/^Contact support\. Neither your password nor a reset link alone can turn two-factor authentication off/),
    ).toBeVisible();

    await fillNewPassword(resetPage);
    await resetPage.getByRole("button", { name: "Set new password" }).click();
    await expect(code).toHaveAccessibleDescription(/Enter the 6-digit code from your authenticator app\./);
    expect(await accountState(db, user, token)).toEqual({ newPassword: false, oldPassword: true, sessions: 1, linkUsed: false });

    await code.fill(authenticator.staleCode());
    await resetPage.getByRole("button", { name: "Set new password" }).click();
    await expect(code).toHaveAccessibleDescription(/That code is not right, or it was already used\. Your link still works/);
    await expectNoSeriousViolations(resetPage);
    expect(await accountState(db, user, token)).toEqual({ newPassword: false, oldPassword: true, sessions: 1, linkUsed: false });

    // The link still works: reloaded, then with a right code.
    await resetPage.goto(link);
    await resetPage.getByLabel("Authentication code").fill(await authenticator.code());
    await fillNewPassword(resetPage);
    await resetPage.getByRole("button", { name: "Set new password" }).click();
    await expect(resetPage).toHaveURL(/\/login\?notice=password-reset$/);
    expect(await accountState(db, user, token)).toEqual({ newPassword: true, oldPassword: false, sessions: 0, linkUsed: true });

    // The browser that was signed in is signed out, and two-factor is still on.
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
    const [row] = await db`select two_factor_enabled_at is not null as on from users where id = ${user.id}`;
    expect(row?.on).toBe(true);
    await mailbox.waitFor(user.email, /password was changed/i);
    await context.close();
  });

  test('works with JavaScript off, with a recovery code reached through "Use a recovery code"', async ({
    page,
    browser,
    createUser,
    mailbox,
    db,
  }) => {
    const { user, recoveryCodes } = await userWithTwoFactor(page, createUser);
    const { link, token } = await linkFor(page, mailbox, user);

    const context = await browser.newContext({ javaScriptEnabled: false });
    const resetPage = await context.newPage();
    await resetPage.goto(link);
    await resetPage.getByRole("link", { name: "Use a recovery code" }).click();
    await expect(resetPage).toHaveURL(/\?method=recovery$/);
    const field = resetPage.getByLabel("Recovery code");

    // Posted without a code: the server asks for one and changes nothing.
    await fillNewPassword(resetPage);
    await resetPage.getByRole("button", { name: "Set new password" }).click();
    await expect(resetPage.getByLabel("Recovery code")).toHaveAccessibleDescription(/Enter one of your recovery codes\./);
    expect(await accountState(db, user, token)).toEqual({ newPassword: false, oldPassword: true, sessions: 1, linkUsed: false });

    await field.fill(recoveryCodes[0]!.toLowerCase());
    await fillNewPassword(resetPage);
    await resetPage.getByRole("button", { name: "Set new password" }).click();
    await expect(resetPage).toHaveURL(/\/login\?notice=password-reset$/);
    expect(await accountState(db, user, token)).toEqual({ newPassword: true, oldPassword: false, sessions: 0, linkUsed: true });
    const notice = await mailbox.waitFor(user.email, /A recovery code was used \(9 left\)/);
    expect(notice.text).not.toContain(recoveryCodes[0]!);
    await context.close();
  });

  test("a second factor turned on after the reset page was opened is still asked for, and the page then shows the field", async ({
    page,
    browser,
    createUser,
    mailbox,
    db,
  }) => {
    const user = await createUser();
    const { link, token } = await linkFor(page, mailbox, user);
    const context = await browser.newContext();
    const resetPage = await context.newPage();
    await resetPage.goto(link);
    await expect(resetPage.getByLabel("New password", { exact: true })).toBeVisible();
    await expect(resetPage.getByLabel("Authentication code")).toHaveCount(0);

    // Meanwhile, the owner turns two-factor on.
    await signIn(page, user);
    const { authenticator } = await enableTwoFactor(page);

    await fillNewPassword(resetPage);
    await resetPage.getByRole("button", { name: "Set new password" }).click();
    await expect(resetPage.getByTestId("form-error")).toContainText("This account uses two-factor authentication.");
    expect(await accountState(db, user, token)).toEqual({ newPassword: false, oldPassword: true, sessions: 1, linkUsed: false });

    const code = resetPage.getByLabel("Authentication code");
    await expect(code).toBeVisible();
    await code.fill(await authenticator.code());
    await fillNewPassword(resetPage);
    await resetPage.getByRole("button", { name: "Set new password" }).click();
    await expect(resetPage).toHaveURL(/\/login\?notice=password-reset$/);
    expect(await accountState(db, user, token)).toEqual({ newPassword: true, oldPassword: false, sessions: 0, linkUsed: true });
    await context.close();
  });

  test("the API answers 400 second_factor_required without a code, 400 invalid_second_factor for a wrong one, and 200 with a right one", async ({
    page,
    createUser,
    mailbox,
    db,
  }) => {
    const { user, authenticator } = await userWithTwoFactor(page, createUser);
    const { token } = await linkFor(page, mailbox, user);

    const inspected = await call(page.request, PATHS.verify, { json: { token } });
    await expectContract(inspected, verifyToken);
    expect(inspected.body).toMatchObject({ valid: true, second_factor_required: true });

    const without = await call(page.request, PATHS.reset, { json: { token, new_password: NEW_PASSWORD } });
    expect(without.status).toBe(400);
    expect(errorCode(without)).toBe("second_factor_required");
    await expectContract(without, reset);
    const wrong = await call(page.request, PATHS.reset, { json: { token, new_password: NEW_PASSWORD, otp: authenticator.staleCode() } });
    expect(wrong.status).toBe(400);
    expect(errorCode(wrong)).toBe("invalid_second_factor");
    await expectContract(wrong, reset);
    expect(await accountState(db, user, token)).toEqual({ newPassword: false, oldPassword: true, sessions: 1, linkUsed: false });

    const right = await call(page.request, PATHS.reset, { json: { token, new_password: NEW_PASSWORD, otp: await authenticator.code() } });
    expect(right.status).toBe(200);
    await expectContract(right, reset);
    expect(await accountState(db, user, token)).toEqual({ newPassword: true, oldPassword: false, sessions: 0, linkUsed: true });
  });

  test("the API answers 429 with Retry-After past five wrong codes on the account, and its links still work afterwards", async ({
    page,
    createUser,
    mailbox,
    db,
  }) => {
    const { user, authenticator } = await userWithTwoFactor(page, createUser);
    // Two links: each allows five attempts of its own; the account's five wrong codes are shared.
    const { token } = await linkFor(page, mailbox, user);
    const second = await resetTokenFor(page.request, mailbox, user.email, 2);
    for (let i = 0; i < 5; i++) {
      const wrong = await call(page.request, PATHS.reset, {
        json: { token: i < 3 ? token : second, new_password: NEW_PASSWORD, recovery_code: `AAAA-BBBB-CCCC-DDD${i + 2}` },
      });
      expect(wrong.status).toBe(400);
      expect(errorCode(wrong)).toBe("invalid_second_factor");
    }
    const limited = await call(page.request, PATHS.reset, { json: { token, new_password: NEW_PASSWORD, otp: await authenticator.code() } });
    expect(limited.status).toBe(429);
    expect(errorCode(limited)).toBe("rate_limited");
    await expectContract(limited, reset);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(800);
    expect(Number(limited.headers["retry-after"])).toBeLessThanOrEqual(900);
    expect(await accountState(db, user, token)).toEqual({ newPassword: false, oldPassword: true, sessions: 1, linkUsed: false });
    for (const link of [token, second]) {
      const inspected = await call(page.request, PATHS.verify, { json: { token: link } });
      expect(inspected.body).toMatchObject({ valid: true });
    }
  });

  test("a wrong code with a guessed password answers the same whether the guess is the current password or not, and five attempts spend the link", async ({
    page,
    browser,
    createUser,
    mailbox,
    db,
  }) => {
    const { user, authenticator } = await userWithTwoFactor(page, createUser);
    const { link, token } = await linkFor(page, mailbox, user);
    const guess = (password: string) =>
      call(page.request, PATHS.reset, { json: { token, new_password: password, otp: authenticator.staleCode() } });

    // The API: the current password, and a password that is not it (both pass the policy).
    const current = await guess(user.password);
    const other = await guess("Not-The-Password-77");
    for (const answer of [current, other]) {
      expect(answer.status).toBe(400);
      expect(errorCode(answer)).toBe("invalid_second_factor");
      await expectContract(answer, reset);
    }
    expect(current.body).toEqual(other.body);
    expect(current.headers["content-type"]).toBe(other.headers["content-type"]);

    // The page, in a browser of the mailbox holder: the same words for both guesses.
    const context = await browser.newContext();
    const resetPage = await context.newPage();
    const pageAnswer = async (password: string) => {
      await resetPage.goto(link);
      await resetPage.getByLabel("Authentication code").fill(authenticator.staleCode());
      await fillNewPassword(resetPage, password);
      await resetPage.getByRole("button", { name: "Set new password" }).click();
      const code = resetPage.getByLabel("Authentication code");
      await expect(code).toHaveAccessibleDescription(/That code is not right/);
      return {
        description: await code.evaluate((el) => el.getAttribute("aria-describedby")),
        text: await resetPage.locator("main").innerText(),
      };
    };
    const onPageCurrent = await pageAnswer(user.password);
    const onPageOther = await pageAnswer("Not-The-Password-77");
    expect(onPageCurrent).toEqual(onPageOther);
    expect(await accountState(db, user, token)).toEqual({ newPassword: false, oldPassword: true, sessions: 1, linkUsed: false });
    // The fifth attempt on the link: refused, and the link is spent.
    await resetPage.goto(link);
    await resetPage.getByLabel("Authentication code").fill(authenticator.staleCode());
    await fillNewPassword(resetPage, "Not-The-Password-77");
    await resetPage.getByRole("button", { name: "Set new password" }).click();
    await expect(resetPage.getByText("This link was tried too many times. It no longer works.")).toBeVisible();
    await expectNoSeriousViolations(resetPage);
    expect(onPageCurrent.text).not.toContain("different from your current");
    expect(await accountState(db, user, token)).toEqual({ newPassword: false, oldPassword: true, sessions: 1, linkUsed: true });

    // Spent: the right code and a new password no longer work, on the API or the page.
    const late = await call(page.request, PATHS.reset, { json: { token, new_password: NEW_PASSWORD, otp: await authenticator.code() } });
    expect(late.status).toBe(400);
    expect(errorCode(late)).toBe("used_token");
    await resetPage.goto(link);
    await expect(resetPage.getByText("This link has already been used")).toBeVisible();
    expect(await accountState(db, user, token)).toEqual({ newPassword: false, oldPassword: true, sessions: 1, linkUsed: true });
    await context.close();
  });

  test("the API answers 400 too_many_attempts on a link's fifth failed attempt, then used_token", async ({ page, createUser, mailbox }) => {
    const { user, authenticator } = await userWithTwoFactor(page, createUser);
    const { token } = await linkFor(page, mailbox, user);
    // With a right code and a refused password, then wrong codes: every attempt counts against the link.
    const refused = await call(page.request, PATHS.reset, {
      json: { token, new_password: user.password, otp: await authenticator.code() },
    });
    expect(refused.status).toBe(422);
    for (let i = 0; i < 3; i++) {
      const wrong = await call(page.request, PATHS.reset, { json: { token, new_password: NEW_PASSWORD, otp: authenticator.staleCode() } });
      expect(errorCode(wrong)).toBe("invalid_second_factor");
    }
    const fifth = await call(page.request, PATHS.reset, { json: { token, new_password: NEW_PASSWORD, otp: authenticator.staleCode() } });
    expect(fifth.status).toBe(400);
    expect(errorCode(fifth)).toBe("too_many_attempts");
    await expectContract(fifth, reset);
    const inspected = await call(page.request, PATHS.verify, { json: { token } });
    expect(inspected.body).toMatchObject({ valid: false, reason: "used" });
  });
});
