import { STRONG_PASSWORD, expect, signIn, test, uniqueEmail } from "./support/fixtures";

test.describe("accounts and sessions", () => {
  test("register, sign out, sign in again and see the account page", async ({ page, db }) => {
    const email = uniqueEmail("register");
    await page.goto("/register");
    await page.getByLabel("Email").fill(`  ${email.toUpperCase()} `);
    await page.getByLabel("Password", { exact: true }).fill(STRONG_PASSWORD);
    await page.getByLabel("Confirm password").fill(STRONG_PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();

    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId("account-email")).toHaveText(email);

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login\?notice=signed-out$/);
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);

    await signIn(page, { email, password: STRONG_PASSWORD });
    await expect(page.getByTestId("account-email")).toHaveText(email);
    await page.goto("/");
    await expect(page.getByTestId("signed-in-email")).toHaveText(email);

    const [row] = await db`select email from users where email = ${email}`;
    expect(row?.email).toBe(email);
    await db`delete from users where email = ${email}`;
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
