import { E2E } from "./support/settings";
import { STRONG_PASSWORD, expect, signIn, test, uniqueEmail } from "./support/fixtures";

test.describe("accounts and sessions", () => {
  test("register, confirm the email from the link, sign in, see the account, sign out", async ({ page, db, mailbox }) => {
    const email = uniqueEmail("register");
    await page.goto("/register");
    await page.getByLabel("Email").fill(`  ${email.toUpperCase()} `);
    await page.getByLabel("Password", { exact: true }).fill(STRONG_PASSWORD);
    await page.getByLabel("Confirm password").fill(STRONG_PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("register-answer")).toHaveText("Check your email to finish creating your account.");

    // Opening the link only asks; the button confirms (mail scanners open links too).
    const link = await mailbox.link(email, /confirm your email address/i, "/verify-email/");
    expect(new URL(link).origin).toBe(E2E.appUrl);
    await page.goto(link);
    await page.reload();
    await expect(page.getByRole("heading", { name: "Confirm your email address" })).toBeVisible();
    await page.getByRole("button", { name: "Confirm email address" }).click();
    await expect(page.getByRole("heading", { name: "Your email address is confirmed" })).toBeVisible();
    await page.goto(link);
    await expect(page.getByRole("heading", { name: "This link has already been used" })).toBeVisible();

    await signIn(page, { email, password: STRONG_PASSWORD });
    await expect(page.getByTestId("account-email")).toHaveText(email);
    await expect(page.getByTestId("email-verified")).toHaveText("Yes");
    await expect(page.getByRole("region", { name: "Email not confirmed" })).toHaveCount(0);
    await page.goto("/");
    await expect(page.getByTestId("signed-in-email")).toHaveText(email);

    await page.goto("/account");
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login\?notice=signed-out$/);
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);

    const [row] = await db`select email, email_verified_at from users where email = ${email}`;
    expect(row?.email).toBe(email);
    expect(row?.email_verified_at).not.toBeNull();
    await db`delete from users where email = ${email}`;
  });

  test("registering an existing address answers the same, warns its owner and changes nothing", async ({ page, createUser, mailbox }) => {
    const user = await createUser();
    await page.goto("/register");
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill("Another-Pass-77");
    await page.getByLabel("Confirm password").fill("Another-Pass-77");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("register-answer")).toHaveText("Check your email to finish creating your account.");

    const warning = await mailbox.waitFor(user.email, /someone tried to create a rekey account/i);
    expect(warning.text).toContain(`${E2E.appUrl}/login`);
    expect(warning.text).toContain(`${E2E.appUrl}/forgot-password`);
    expect((await mailbox.messages(user.email)).filter((m) => /confirm your email/i.test(m.subject))).toEqual([]);
    await signIn(page, user);
  });

  test("an unconfirmed user may sign in, sees the banner and can ask for a new link", async ({ page, createUser, mailbox }) => {
    const user = await createUser();
    await signIn(page, user);
    const banner = page.getByRole("region", { name: "Email not confirmed" });
    await expect(banner).toContainText(user.email);
    await banner.getByRole("button", { name: "Resend verification email" }).click();
    await expect(page.getByText("We sent a new verification link to your email address.")).toBeVisible();
    const link = await mailbox.link(user.email, /confirm your email address/i, "/verify-email/");
    await page.goto(link);
    await page.getByRole("button", { name: "Confirm email address" }).click();
    await expect(page.getByRole("heading", { name: "Your email address is confirmed" })).toBeVisible();
    await page.goto("/account");
    await expect(page.getByTestId("email-verified")).toHaveText("Yes");
    await expect(banner).toHaveCount(0);
  });

  test("the common-passwords dictionary is not in the page's initial JavaScript; it loads once a password is typed", async ({ page }) => {
    const scripts: { url: string; body: Promise<string> }[] = [];
    page.on("response", (r) => {
      if (r.url().endsWith(".js")) scripts.push({ url: r.url(), body: r.text() });
    });
    // The dictionary ships compressed; its first entries read like this.
    const holdsDictionary = async () => (await Promise.all(scripts.map((s) => s.body))).some((body) => body.includes("A123456Apassword"));

    await page.goto("/register");
    await page.waitForLoadState("networkidle");
    expect(scripts.length).toBeGreaterThan(0);
    expect(await holdsDictionary()).toBe(false);

    await page.getByLabel("Password", { exact: true }).fill("P@ssw0rd");
    await expect.poll(holdsDictionary).toBe(true);
    // And it is used: a common password stays unticked, a strong one is ticked.
    await expect(page.locator('[data-rule="common"]')).toHaveAttribute("data-met", "false");
    await page.getByLabel("Password", { exact: true }).fill(STRONG_PASSWORD);
    await expect(page.locator('[data-rule="common"]')).toHaveAttribute("data-met", "true");
  });

  test("registration shows each broken password rule next to the field", async ({ page }) => {
    await page.goto("/register");
    await page.getByLabel("Email").fill(uniqueEmail());
    await page.getByLabel("Password", { exact: true }).fill("short");
    await page.getByLabel("Confirm password").fill("different");
    await page.getByRole("button", { name: "Create account" }).click();
    const passwordErrors = page.locator("#" + (await page.getByLabel("Password", { exact: true }).getAttribute("aria-describedby"))!.split(" ").at(-1)!);
    await expect(passwordErrors).toContainText("Use 8 to 128 characters.");
    await expect(passwordErrors).toContainText("Add an upper-case letter.");
    await expect(passwordErrors).toContainText("Add a digit.");
    await expect(passwordErrors).toContainText("Add a special character");
    await expect(page.getByText("The passwords do not match.")).toBeVisible();
    await expect(page.getByLabel("Password", { exact: true })).toBeFocused();
    await expect(page).toHaveURL(/\/register$/);
  });

  test("a wrong password and an unknown email get the same message", async ({ page, createUser }) => {
    const user = await createUser();
    await page.goto("/login");
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill("Wrong-Password-1");
    await page.getByRole("button", { name: "Sign in" }).click();
    const alert = page.getByTestId("form-error");
    await expect(alert).toHaveText("Incorrect email or password.");

    await page.goto("/login");
    await page.getByLabel("Email").fill(uniqueEmail("nobody"));
    await page.getByLabel("Password", { exact: true }).fill("Wrong-Password-1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(alert).toHaveText("Incorrect email or password.");
    await expect(page).toHaveURL(/\/login$/);
  });

  test("a signed-out visit to /account goes to sign-in and comes back after it", async ({ page, createUser }) => {
    const user = await createUser();
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId("account-email")).toHaveText(user.email);
  });

  test("a callbackUrl to another origin is ignored", async ({ page, createUser }) => {
    const user = await createUser();
    await page.goto("/login?callbackUrl=https%3A%2F%2Fevil.example%2Fphish");
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/localhost:\d+\/account$/);
  });

  test("deleting the user's session rows signs the browser out on its next request", async ({ page, createUser, db }) => {
    const user = await createUser();
    await signIn(page, user);
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === "authjs.session-token")).toMatchObject({ httpOnly: true, sameSite: "Lax" });

    await db`delete from sessions where user_id = ${user.id}`;
    await page.reload();
    await expect(page).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
  });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("resending and confirming the verification email work as plain form posts", async ({ page, createUser, mailbox }) => {
    const user = await createUser();
    await signIn(page, user);
    await page.getByRole("button", { name: "Resend verification email" }).click();
    await expect(page.getByText("We sent a new verification link to your email address.")).toBeVisible();
    await page.goto(await mailbox.link(user.email, /confirm your email address/i, "/verify-email/"));
    await page.getByRole("button", { name: "Confirm email address" }).click();
    await expect(page.getByRole("heading", { name: "Your email address is confirmed" })).toBeVisible();
  });

  test("signing in works as a plain form post", async ({ page, createUser }) => {
    const user = await createUser();
    await page.goto("/login");
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId("account-email")).toHaveText(user.email);
  });

  test("a wrong password shows the error and keeps the email", async ({ page, createUser }) => {
    const user = await createUser();
    await page.goto("/login");
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill("Wrong-Password-1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("form-error")).toHaveText("Incorrect email or password.");
    await expect(page.getByLabel("Email")).toHaveValue(user.email);
  });
});
