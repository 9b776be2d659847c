import type { APIRequestContext, Page } from "@playwright/test";
import { E2E } from "./support/settings";
import { STRONG_PASSWORD, expect, signIn, test, uniqueEmail } from "./support/fixtures";

async function register(page: Page, email: string, password: string): Promise<void> {
  await page.goto("/register");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Confirm password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("register-answer")).toHaveText("Check your email to finish creating your account.");
}

/** The sign-in form's error after submitting `email` and `password`. */
async function signInAnswer(page: Page, email: string, password: string): Promise<string | null> {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByTestId("form-error")).toBeVisible();
  await expect(page).toHaveURL(/\/login$/);
  return page.getByTestId("form-error").textContent();
}

/** Signs in through Auth.js's own endpoint (no app page involved); the session's email, if any. */
async function credentialsEndpointSession(
  request: APIRequestContext,
  user: { email: string; password: string },
): Promise<string | undefined> {
  const { csrfToken } = (await (await request.get("/api/auth/csrf")).json()) as { csrfToken: string };
  await request.post("/api/auth/callback/credentials", {
    form: { email: user.email, password: user.password, csrfToken },
    maxRedirects: 0,
  });
  const session = (await (await request.get("/api/auth/session")).json()) as { user?: { email?: string } } | null;
  return session?.user?.email;
}

test.describe("accounts and sessions", () => {
  test("register, be refused at sign-in until confirmed, confirm with the link and the password, sign in, sign out", async ({
    page,
    db,
    mailbox,
  }) => {
    const email = uniqueEmail("register");
    await register(page, `  ${email.toUpperCase()} `, STRONG_PASSWORD);

    // Opening the link only asks; the password confirms (mail scanners open links too).
    const link = await mailbox.link(email, /confirm your email address/i, "/verify-email/");
    expect(new URL(link).origin).toBe(E2E.appUrl);

    // Before confirming, the right password gets exactly the wrong-password answer.
    expect(await signInAnswer(page, email, STRONG_PASSWORD)).toBe("Incorrect email or password.");
    expect(await signInAnswer(page, email, "Wrong-Password-1")).toBe("Incorrect email or password.");

    await page.goto(link);
    await page.reload();
    await expect(page.getByRole("heading", { name: "Confirm your email address" })).toBeVisible();
    await page.getByLabel("Password", { exact: true }).fill(STRONG_PASSWORD);
    await page.getByRole("button", { name: "Confirm email address" }).click();
    await expect(page.getByRole("heading", { name: "Your email address is confirmed" })).toBeVisible();
    await page.goto(link);
    await expect(page.getByRole("heading", { name: "This link has already been used" })).toBeVisible();

    await signIn(page, { email, password: STRONG_PASSWORD });
    await expect(page.getByTestId("account-email")).toHaveText(email);
    await expect(page.getByTestId("email-verified")).toHaveText("Yes");
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

  test("Auth.js's own credentials endpoint refuses an unconfirmed account's right password, and signs in once it is confirmed", async ({
    request,
    createUser,
    db,
  }) => {
    const user = await createUser({ confirmed: false });
    expect(await credentialsEndpointSession(request, user)).toBeUndefined();

    await db`update users set email_verified_at = now() where id = ${user.id}`;
    expect(await credentialsEndpointSession(request, user)).toBe(user.email);
  });

  test("a free address registered by someone else: its link opened in another browser without that password confirms nothing", async ({
    page,
    browser,
    db,
    mailbox,
  }) => {
    const email = uniqueEmail("prehijack");
    await register(page, email, STRONG_PASSWORD);
    const link = await mailbox.link(email, /confirm your email address/i, "/verify-email/");

    // The address's owner, in their own browser, without the registrant's password.
    const owner = await browser.newContext();
    const ownerPage = await owner.newPage();
    await ownerPage.goto(link);
    await ownerPage.getByRole("button", { name: "Confirm email address" }).click();
    await expect(ownerPage.getByText("Enter your password.")).toBeVisible();
    await ownerPage.getByLabel("Password", { exact: true }).fill("Owners-Own-Pass-5");
    await ownerPage.getByRole("button", { name: "Confirm email address" }).click();
    await expect(
      ownerPage.getByText(
        /That is not the password chosen when this account was created\. Nothing was confirmed, and this link still works/,
      ),
    ).toBeVisible();
    await expect(ownerPage.getByLabel("Password", { exact: true })).toHaveAttribute("aria-invalid", "true");
    await ownerPage.reload();
    await expect(ownerPage.locator("[data-token-status]")).toHaveAttribute("data-token-status", "valid");
    await owner.close();

    const [row] = await db`select email_verified_at from users where email = ${email}`;
    expect(row?.email_verified_at).toBeNull();
    expect(await signInAnswer(page, email, STRONG_PASSWORD)).toBe("Incorrect email or password.");
    await db`delete from users where email = ${email}`;
  });

  test("a password reset of an unconfirmed account confirms it, and only the new password signs in", async ({
    page,
    createUser,
    mailbox,
    db,
  }) => {
    const user = await createUser({ confirmed: false });
    expect(await signInAnswer(page, user.email, user.password)).toBe("Incorrect email or password.");

    await page.goto("/forgot-password");
    await page.getByLabel("Email").fill(user.email);
    await page.getByRole("button", { name: "Send reset link" }).click();
    await page.goto(await mailbox.resetLink(user.email));
    const newPassword = "Owners-New-Pass-8";
    await page.getByLabel("New password", { exact: true }).fill(newPassword);
    await page.getByLabel("Confirm new password").fill(newPassword);
    await page.getByRole("button", { name: "Set new password" }).click();
    await expect(page).toHaveURL(/\/login\?notice=password-reset$/);

    const [row] = await db`select email_verified_at from users where id = ${user.id}`;
    expect(row?.email_verified_at).not.toBeNull();
    expect(await signInAnswer(page, user.email, user.password)).toBe("Incorrect email or password.");
    await signIn(page, { email: user.email, password: newPassword });
    await expect(page.getByTestId("email-verified")).toHaveText("Yes");
  });

  test("the registration answer sends the link again, with the same answer for any address", async ({ page, mailbox, db }) => {
    const email = uniqueEmail("resend");
    await register(page, email, STRONG_PASSWORD);
    await mailbox.waitFor(email, /confirm your email address/i);
    const resend = page.getByRole("form", { name: "Send the confirmation link again" });
    await expect(resend.getByLabel("Email")).toHaveValue(email);
    await resend.getByRole("button", { name: "Send the link again" }).click();
    const answer = page.getByTestId("resend-verification-answer");
    await expect(answer).toHaveText(
      "If that address has an account waiting for confirmation, we sent it a new link. It works for 24 hours.",
    );
    const second = await mailbox.link(email, /confirm your email address/i, "/verify-email/", 2);

    // An address without an account waiting gets the same words and no email.
    const nobody = uniqueEmail("nobody");
    await page.goto("/resend-verification");
    await page.getByLabel("Email").fill(nobody);
    await page.getByRole("button", { name: "Send the link again" }).click();
    await expect(page.getByTestId("resend-verification-answer")).toHaveText(
      "If that address has an account waiting for confirmation, we sent it a new link. It works for 24 hours.",
    );

    await page.goto(second);
    await page.getByLabel("Password", { exact: true }).fill(STRONG_PASSWORD);
    await page.getByRole("button", { name: "Confirm email address" }).click();
    await expect(page.getByRole("heading", { name: "Your email address is confirmed" })).toBeVisible();
    expect(await mailbox.messages(nobody)).toEqual([]);
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

  test("the forms check in the browser without zod: nothing fetches it, and a wrong form is answered before any post", async ({ page }) => {
    const scripts: Promise<string>[] = [];
    const posts: string[] = [];
    page.on("response", (r) => {
      if (r.url().endsWith(".js")) scripts.push(r.text());
    });
    page.on("request", (r) => {
      if (r.method() === "POST") posts.push(r.url());
    });
    // zod's error class keeps this name through minification; the server's bundles have it.
    const holdsZod = async () => (await Promise.all(scripts)).some((body) => body.includes("$ZodError"));

    await page.goto("/register");
    await page.waitForLoadState("networkidle");
    await page.getByLabel("Email").fill("not-an-email");
    await page.getByLabel("Password", { exact: true }).fill("Correct-Horse-7");
    await page.getByLabel("Confirm password").fill("Correct-Horse-8");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByText("Enter a valid email address, like name@example.com.")).toBeVisible();
    await expect(page.getByText("The passwords do not match.")).toBeVisible();
    await expect(page.getByLabel("Email")).toBeFocused();
    // Fixing a field clears its error as the user types, still without a post.
    await page.getByLabel("Confirm password").fill("Correct-Horse-7");
    await expect(page.getByText("The passwords do not match.")).toHaveCount(0);
    expect(posts).toEqual([]);
    expect(scripts.length).toBeGreaterThan(0);
    expect(await holdsZod()).toBe(false);
  });

  test("registration shows each broken password rule next to the field", async ({ page }) => {
    await page.goto("/register");
    await page.getByLabel("Email").fill(uniqueEmail());
    await page.getByLabel("Password", { exact: true }).fill("short");
    await page.getByLabel("Confirm password").fill("different");
    await page.getByRole("button", { name: "Create account" }).click();
    // The error list joins aria-describedby once the submit is validated: wait for it, then read it.
    const password = page.getByLabel("Password", { exact: true });
    await expect(password).toHaveAttribute("aria-describedby", /-error$/);
    const passwordErrors = page.locator("#" + (await password.getAttribute("aria-describedby"))!.split(" ").at(-1)!);
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
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    const alert = page.getByTestId("form-error");
    await expect(alert).toHaveText("Incorrect email or password.");

    await page.goto("/login");
    await page.getByLabel("Email").fill(uniqueEmail("nobody"));
    await page.getByLabel("Password", { exact: true }).fill("Wrong-Password-1");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(alert).toHaveText("Incorrect email or password.");
    await expect(page).toHaveURL(/\/login$/);
  });

  test("a signed-out visit to /account goes to sign-in and comes back after it", async ({ page, createUser }) => {
    const user = await createUser();
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId("account-email")).toHaveText(user.email);
  });

  test("a callbackUrl to another origin is ignored", async ({ page, createUser }) => {
    const user = await createUser();
    await page.goto("/login?callbackUrl=https%3A%2F%2Fevil.example%2Fphish");
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
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

  test("resending and confirming the verification email work as plain form posts, a wrong password included", async ({
    page,
    createUser,
    mailbox,
  }) => {
    const user = await createUser({ confirmed: false });
    await page.goto("/resend-verification");
    await page.getByLabel("Email").fill(user.email);
    await page.getByRole("button", { name: "Send the link again" }).click();
    await expect(page.getByTestId("resend-verification-answer")).toBeVisible();
    await page.goto(await mailbox.link(user.email, /confirm your email address/i, "/verify-email/"));
    await page.getByLabel("Password", { exact: true }).fill("Wrong-Password-1");
    await page.getByRole("button", { name: "Confirm email address" }).click();
    await expect(page.getByText(/That is not the password chosen when this account was created/)).toBeVisible();
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Confirm email address" }).click();
    await expect(page.getByRole("heading", { name: "Your email address is confirmed" })).toBeVisible();
  });

  test("signing in works as a plain form post", async ({ page, createUser }) => {
    const user = await createUser();
    await page.goto("/login");
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId("account-email")).toHaveText(user.email);
  });

  test("a wrong password shows the error and keeps the email", async ({ page, createUser }) => {
    const user = await createUser();
    await page.goto("/login");
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill("Wrong-Password-1");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByTestId("form-error")).toHaveText("Incorrect email or password.");
    await expect(page.getByLabel("Email")).toHaveValue(user.email);
  });
});
