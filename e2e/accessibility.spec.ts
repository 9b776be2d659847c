import { expectNoSeriousViolations } from "./support/axe";
import { expect, signIn, test, uniqueEmail } from "./support/fixtures";
import { enableTwoFactor } from "./support/two-factor";

test.describe("accessibility (axe: no serious or critical violation)", () => {
  test("/login, with and without an error shown", async ({ page }) => {
    await page.goto("/login");
    await expectNoSeriousViolations(page);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByText("Enter your email address.")).toBeVisible();
    await expectNoSeriousViolations(page);
  });

  test("/register", async ({ page }) => {
    await page.goto("/register");
    await expectNoSeriousViolations(page);
  });

  test("/verify-email/[token]: the password form, its wrong-password error, and /resend-verification", async ({
    page,
    createUser,
    mailbox,
  }) => {
    const user = await createUser({ confirmed: false });
    await page.goto("/resend-verification");
    await expectNoSeriousViolations(page);
    await page.getByLabel("Email").fill(user.email);
    await page.getByRole("button", { name: "Send the link again" }).click();
    await expect(page.getByTestId("resend-verification-answer")).toBeVisible();
    await expectNoSeriousViolations(page);

    await page.goto(await mailbox.link(user.email, /confirm your email address/i, "/verify-email/"));
    await expectNoSeriousViolations(page);
    await page.getByLabel("Password", { exact: true }).fill("Wrong-Password-1");
    await page.getByRole("button", { name: "Confirm email address" }).click();
    await expect(page.getByLabel("Password", { exact: true })).toHaveAttribute("aria-invalid", "true");
    await expectNoSeriousViolations(page);
  });

  test("/forgot-password, the form and the answer", async ({ page }) => {
    await page.goto("/forgot-password");
    await expectNoSeriousViolations(page);
    await page.getByLabel("Email").fill(uniqueEmail("someone"));
    await page.getByRole("button", { name: "Send reset link" }).click();
    await expect(page.getByTestId("forgot-password-answer")).toBeVisible();
    await expectNoSeriousViolations(page);
  });

  test("/reset-password/[token] with a valid link (form, errors) and an invalid one", async ({ page, createUser, mailbox }) => {
    const user = await createUser();
    await page.goto("/forgot-password");
    await page.getByLabel("Email").fill(user.email);
    await page.getByRole("button", { name: "Send reset link" }).click();
    await page.goto(await mailbox.resetLink(user.email));
    await expectNoSeriousViolations(page);
    await page.getByLabel("New password", { exact: true }).fill("weak");
    await page.getByRole("button", { name: "Set new password" }).click();
    await expect(page.getByLabel("New password", { exact: true })).toHaveAttribute("aria-invalid", "true");
    await expectNoSeriousViolations(page);

    await page.goto("/reset-password/this-link-is-not-valid");
    await expect(page.getByRole("heading", { name: "This link is not valid" })).toBeVisible();
    await expectNoSeriousViolations(page);
  });

  test('"Confirm it\'s you" on /account/two-factor: password only, with the code field, and with an error shown', async ({
    page,
    createUser,
    db,
  }) => {
    const user = await createUser();
    await signIn(page, user);
    const stale = () =>
      db`update sessions set password_checked_at = now() - interval '11 minutes', second_factor_at = null where user_id = ${user.id}`;
    await stale();
    await page.goto("/account/two-factor");
    await expect(page.getByRole("heading", { name: "Confirm it's you" })).toBeVisible();
    await expectNoSeriousViolations(page);
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    await expect(page.getByLabel("Password", { exact: true })).toHaveAttribute("aria-invalid", "true");
    await expectNoSeriousViolations(page);

    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    await expect(page.getByTestId("setup-key")).toBeVisible();
    await enableTwoFactor(page);
    await stale();
    await page.goto("/account/two-factor");
    await expect(page.getByLabel("Authentication code")).toBeVisible();
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    await expect(page.getByLabel("Authentication code")).toHaveAttribute("aria-invalid", "true");
    await expectNoSeriousViolations(page);
  });

  test('/account/export: "Confirm it\'s you", its error, and the download', async ({ page, createUser, db }) => {
    const user = await createUser();
    await signIn(page, user);
    await db`update sessions set password_checked_at = now() - interval '11 minutes' where user_id = ${user.id}`;
    await page.goto("/account/export");
    await expect(page.getByRole("heading", { name: "Confirm it's you" })).toBeVisible();
    await expectNoSeriousViolations(page);
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    await expect(page.getByLabel("Password", { exact: true })).toHaveAttribute("aria-invalid", "true");
    await expectNoSeriousViolations(page);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    await expect(page.getByRole("link", { name: "Download your data (JSON)" })).toBeVisible();
    await expectNoSeriousViolations(page);
  });

  test("/account/email (\"Confirm it's you\", the form, its error, the answer), the link's page and the undo page", async ({
    page,
    createUser,
    mailbox,
    db,
  }) => {
    const user = await createUser();
    const newEmail = uniqueEmail("axe-moved");
    await signIn(page, user);
    await db`update sessions set password_checked_at = now() - interval '11 minutes', created_at = now() - interval '11 minutes' where user_id = ${user.id}`;
    await page.goto("/account/email");
    await expect(page.getByRole("heading", { name: "Confirm it's you" })).toBeVisible();
    await expectNoSeriousViolations(page);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    await page.getByRole("button", { name: "Send confirmation link" }).click();
    await expect(page.getByLabel("New email address")).toHaveAttribute("aria-invalid", "true");
    await expectNoSeriousViolations(page);
    await page.getByLabel("New email address").fill(newEmail);
    await page.getByRole("button", { name: "Send confirmation link" }).click();
    await expect(page.getByTestId("email-change-sent")).toBeVisible();
    await expectNoSeriousViolations(page);

    await page.goto(await mailbox.link(newEmail, /confirm your new rekey email address/i, "/email-change/"));
    await expectNoSeriousViolations(page);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Confirm new email address" }).click();
    await expect(page.getByRole("heading", { name: "Your email address is changed" })).toBeVisible();
    await expectNoSeriousViolations(page);
    await page.goto(await mailbox.link(user.email, /email address of your rekey account was changed/i, "/email-change/undo/"));
    await expectNoSeriousViolations(page);
  });

  test('/account/delete (asking "Confirm it\'s you", then the address with its error), /account-deleted and /cancel-deletion/[token]', async ({
    page,
    createUser,
    mailbox,
    db,
  }) => {
    const user = await createUser();
    await signIn(page, user);
    await db`update sessions set password_checked_at = now() - interval '11 minutes' where user_id = ${user.id}`;
    await page.goto("/account/delete");
    await expect(page.getByRole("heading", { name: "Confirm it's you" })).toBeVisible();
    await expectNoSeriousViolations(page);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    await page.getByLabel("Type your email address to confirm").fill("someone-else@example.com");
    await page.getByRole("button", { name: "Delete my account" }).click();
    await expect(page.getByLabel("Type your email address to confirm")).toHaveAttribute("aria-invalid", "true");
    await expectNoSeriousViolations(page);
    await page.getByLabel("Type your email address to confirm").fill(user.email);
    await page.getByRole("button", { name: "Delete my account" }).click();
    await expect(page).toHaveURL(/\/account-deleted$/);
    await expectNoSeriousViolations(page);
    const link = await mailbox.link(user.email, /your rekey account is being deleted/i, "/cancel-deletion/");
    await page.goto(link);
    await expect(page.getByRole("button", { name: "Cancel the deletion" })).toBeVisible();
    await expectNoSeriousViolations(page);
    await page.getByRole("button", { name: "Cancel the deletion" }).click();
    await expect(page.getByRole("heading", { name: "Your account is back" })).toBeVisible();
    await expectNoSeriousViolations(page);
    await page.goto("/cancel-deletion/this-link-is-not-valid");
    await expect(page.getByRole("heading", { name: "This link is not valid" })).toBeVisible();
    await expectNoSeriousViolations(page);
  });

  test("/account/sessions with an app's session beside the browser's", async ({ page, request, createUser }) => {
    const user = await createUser();
    await signIn(page, user);
    const answer = await request.post("/api/v1/auth/sign-in", {
      data: { email: user.email, password: user.password, client_name: "Rekey CLI on build-box" },
    });
    expect(answer.status()).toBe(200);
    await page.goto("/account/sessions");
    await expect(page.getByTestId("session-row")).toHaveCount(2);
    await expect(page.getByTestId("session-kind")).toContainText("App");
    await expectNoSeriousViolations(page);
  });

  test("the reset form can be completed with the keyboard alone", async ({ page, createUser, mailbox }) => {
    const user = await createUser();
    await page.goto("/forgot-password");
    await page.getByLabel("Email").fill(user.email);
    await page.keyboard.press("Enter");
    await expect(page.getByTestId("forgot-password-answer")).toBeVisible();
    await page.goto(await mailbox.resetLink(user.email));
    await page.keyboard.press("Tab"); // skip link
    await page.keyboard.press("Tab"); // brand
    await page.keyboard.press("Tab");
    await expect(page.getByLabel("New password", { exact: true })).toBeFocused();
    await page.keyboard.type("Keyboard-Only-7");
    await page.keyboard.press("Tab"); // show/hide toggle
    await page.keyboard.press("Tab");
    await expect(page.getByLabel("Confirm new password")).toBeFocused();
    await page.keyboard.type("Keyboard-Only-7");
    await page.keyboard.press("Enter");
    await expect(page).toHaveURL(/\/login\?notice=password-reset$/);
  });

  test('/device: the code form, its error, the review step with "Confirm it\'s you" and with Approve, and the answer', async ({
    page,
    request,
    createUser,
    db,
  }) => {
    const user = await createUser();
    await signIn(page, user);
    await page.goto("/device");
    await expectNoSeriousViolations(page);
    await page.getByLabel("Code").fill("BBBB-BBBB");
    await page.getByRole("button", { name: "Continue" }).click();
    await expect(page.getByLabel("Code")).toHaveAttribute("aria-invalid", "true");
    await expectNoSeriousViolations(page);

    const codes = (await (await request.post("/api/v1/auth/device/code", { data: { client_name: "axe-cli" } })).json()) as {
      user_code: string;
    };
    await db`update sessions set password_checked_at = now() - interval '1 hour' where user_id = ${user.id}`;
    await page.getByLabel("Code").fill(codes.user_code);
    await page.getByRole("button", { name: "Continue" }).click();
    await expect(page.getByRole("heading", { name: "Confirm it's you" })).toBeVisible();
    await expectNoSeriousViolations(page);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    await expect(page.getByRole("button", { name: "Approve" })).toBeVisible();
    await expectNoSeriousViolations(page);
    await page.getByRole("button", { name: "Approve" }).click();
    await expect(page.getByTestId("form-success")).toBeVisible();
    await expectNoSeriousViolations(page);
  });
});
