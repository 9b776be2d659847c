// Signing in to an account with two-factor authentication on, as a person does it: the
// password on /login, then the code (or a recovery code) on /login/two-factor.
import { expect, type Page } from "@playwright/test";
import { signIn, type TestUser } from "./fixtures";
import { enableTwoFactor, type Authenticator } from "./two-factor";

/** The first step: a right password, which must lead to the second step, not into the account. */
export async function passwordStep(page: Page, user: Pick<TestUser, "email" | "password">, start = "/login"): Promise<void> {
  await page.goto(start);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password", { exact: true }).fill(user.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/login\/two-factor\?/);
  await expect(page.getByRole("heading", { name: "Two-factor authentication", level: 1 })).toBeVisible();
}

/** Types an authenticator code on the second step and presses "Verify". */
export async function enterCode(page: Page, code: string): Promise<void> {
  await page.getByLabel("Authentication code").fill(code);
  await page.getByRole("button", { name: "Verify" }).click();
}

/** Follows "Use a recovery code", types `code` and presses "Verify". */
export async function enterRecoveryCode(page: Page, code: string): Promise<void> {
  await page.getByRole("link", { name: "Use a recovery code" }).click();
  await expect(page).toHaveURL(/method=recovery/);
  await page.getByLabel("Recovery code").fill(code);
  await page.getByRole("button", { name: "Verify" }).click();
}

/** Both steps with an authenticator code (from the lead's Authenticator) or a recovery code; waits for /account. */
export async function signInWithSecondFactor(
  page: Page,
  user: Pick<TestUser, "email" | "password">,
  second: { code: string } | { recoveryCode: string },
): Promise<void> {
  await passwordStep(page, user);
  if ("code" in second) await enterCode(page, second.code);
  else await enterRecoveryCode(page, second.recoveryCode);
  await expect(page).toHaveURL(/\/account$/);
}

/**
 * An admin as /admin requires one (ADMIN_REQUIRE_TWO_FACTOR): signs `user` in on `page`, turns
 * two-factor on, then signs in again with a code, so this browser's session passed a second
 * factor. Returns the authenticator for later codes.
 */
export async function signInWithTwoFactorOn(page: Page, user: Pick<TestUser, "email" | "password">): Promise<Authenticator> {
  await signIn(page, user);
  const { authenticator } = await enableTwoFactor(page);
  // Signed out, so the password-only session row ends too.
  await page.goto("/account");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await signInWithSecondFactor(page, user, { code: await authenticator.code() });
  return authenticator;
}
