import type { Page, Request } from "@playwright/test";
import type { Sql } from "postgres";
import { call, PATHS, resetTokenFor } from "./api/support/api";
import { expectNoSeriousViolations } from "./support/axe";
import { expect, test, uniqueIp, type TestUser } from "./support/fixtures";
import { E2E } from "./support/settings";
import { givePasskey } from "./support/passkey-sign-in";
import { addVirtualAuthenticator, type VirtualAuthenticator } from "./support/passkeys";
import { passwordStep } from "./support/two-factor-sign-in";

const NEW_PASSWORD = "Passkey-Reset-2026!";
const REFUSED = "That passkey did not sign you in. Try again, or sign in with your email and password.";

/** The browser's own answer when it has no usable passkey (wrong site, no user verification): nothing reaches the server. */
const NO_PASSKEY_USED = /The passkey request was cancelled or timed out/;

/** How many assertions the authenticator has signed (its one credential's counter). */
const assertions = async (authenticator: VirtualAuthenticator): Promise<number> =>
  (await authenticator.credentials()).reduce((sum, c) => sum + c.signCount, 0);

/** Whether the browser may offer passkeys in a field's autofill: off unless a test is about autofill, so the button alone acts. */
async function conditionalMediation(page: Page, available: boolean): Promise<void> {
  await page.addInitScript((on) => {
    PublicKeyCredential.isConditionalMediationAvailable = async () => on;
  }, available);
}

/** The sessions of `user`, newest first, as the database holds them. */
async function sessionsOf(db: Sql, user: { id: string }) {
  return db<{ second_factor_at: Date | null; password_checked_at: Date | null }[]>`
    select second_factor_at, password_checked_at from sessions where user_id = ${user.id} order by created_at desc`;
}

async function auditDetails(db: Sql, event: string, ip: string) {
  const rows = await db<{ details: Record<string, unknown> | null }[]>`
    select details from audit_events where event = ${event} and ip = ${ip} order by created_at`;
  return rows.map((r) => r.details);
}

/** The server action POST that finishes a passkey step (it carries the assertion). */
const isAssertionPost = (request: Request): boolean =>
  request.method() === "POST" && "next-action" in request.headers() && (request.postData() ?? "").includes("clientDataJSON");

test.describe("signing in with a passkey", () => {
  test("'Sign in with a passkey' signs in without the password: a session that passed a second factor (no password check), audited as a passkey sign-in", async ({
    page,
    createUser,
    db,
    ip,
  }) => {
    const user = await createUser();
    await conditionalMediation(page, false);
    const authenticator = await addVirtualAuthenticator(page);
    await givePasskey(db, authenticator, user);

    await page.goto("/login?callbackUrl=%2Faccount%2Fsessions");
    await expect(page.getByLabel("Email")).toHaveAttribute("autocomplete", "username webauthn");
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expect(page).toHaveURL(/\/account\/sessions$/);
    await expect(page.getByTestId("session-row").getByTestId("second-factor")).toHaveText("Two-factor verified");
    expect(await assertions(authenticator)).toBe(1);

    const [session] = await sessionsOf(db, user);
    expect(session?.second_factor_at).not.toBeNull();
    // "Confirm it's you" still asks for the password: this sign-in never checked it.
    expect(session?.password_checked_at).toBeNull();
    expect(await auditDetails(db, "user.signed_in", ip)).toEqual([{ second_factor: true, method: "passkey" }]);
    await page.goto("/account/export");
    await expect(page.getByTestId("confirm-identity")).toBeVisible();
    await expectNoSeriousViolations(page);
    // "Confirm it's you" takes the password with the passkey in place of a code.
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Confirm with a passkey" }).click();
    await expect(page.getByTestId("download-export")).toBeVisible();
    expect(await assertions(authenticator)).toBe(2);
    const [confirmed] = await db`select details from audit_events where event = 'identity.confirmed' and user_id = ${user.id}`;
    expect(confirmed?.details).toEqual({ method: "passkey" });
  });

  test("the email field's passkey autofill (conditional mediation) signs in too", async ({ page, createUser, db }) => {
    const user = await createUser();
    // The browser's autofill list cannot be clicked from a test: picking the passkey there is
    // stood in for by answering the page's conditional request as a plain one. The page's side
    // (asking on load, for the field marked "webauthn", then finishing) is all real.
    const asked: string[] = [];
    await page.exposeFunction("noteMediation", (mediation: string) => asked.push(mediation));
    await page.addInitScript(() => {
      PublicKeyCredential.isConditionalMediationAvailable = async () => true;
      const get = navigator.credentials.get.bind(navigator.credentials);
      navigator.credentials.get = (options?: CredentialRequestOptions) => {
        const { mediation, ...rest } = options ?? {};
        void (window as unknown as { noteMediation(m: string): void }).noteMediation(String(mediation));
        return get(mediation === "conditional" ? rest : options);
      };
    });
    const authenticator = await addVirtualAuthenticator(page);
    await givePasskey(db, authenticator, user);

    await page.goto("/login");
    await expect(page).toHaveURL(/\/account$/);
    expect(asked).toEqual(["conditional"]);
    const [session] = await sessionsOf(db, user);
    expect(session?.second_factor_at).not.toBeNull();
  });

  test("a passkey finishes the second step after a right password", async ({ page, createUser, db, ip }) => {
    const user = await createUser();
    const authenticator = await addVirtualAuthenticator(page);
    await givePasskey(db, authenticator, user);
    await conditionalMediation(page, false);

    await passwordStep(page, user);
    await expect(page.getByText("Your password was right. Use your passkey")).toBeVisible();
    await expectNoSeriousViolations(page);
    await page.getByRole("button", { name: "Use a passkey" }).click();
    await expect(page).toHaveURL(/\/account$/);
    const [session] = await sessionsOf(db, user);
    expect(session?.second_factor_at).not.toBeNull();
    expect(session?.password_checked_at).not.toBeNull();
    expect(await auditDetails(db, "user.signed_in", ip)).toEqual([{ second_factor: true }]);
  });

  test("the reset of an account with a passkey needs it: the link alone changes nothing, with the passkey the password changes", async ({
    page,
    createUser,
    db,
    mailbox,
  }) => {
    const user = await createUser();
    // The reset ends on /login, whose passkey autofill the virtual authenticator would answer.
    await conditionalMediation(page, false);
    const authenticator = await addVirtualAuthenticator(page);
    await givePasskey(db, authenticator, user);
    const token = await resetTokenFor(page.request, mailbox, user.email);

    // Over the API the link alone is refused, and says what the account has.
    const alone = await call(page.request, PATHS.reset, { json: { token, new_password: NEW_PASSWORD } });
    expect(alone.status).toBe(400);
    expect(alone.body).toMatchObject({ error: { code: "second_factor_required" } });

    await page.goto(`/reset-password/${token}`);
    await expect(page.getByText("a reset link alone is not enough, so use its passkey or enter a code too")).toBeVisible();
    await expectNoSeriousViolations(page);
    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel("Confirm new password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Use your passkey and set new password" }).click();
    await expect(page).toHaveURL(/\/login\?notice=password-reset$/);
    expect(await assertions(authenticator)).toBe(1);
    const [row] = await db`select count(*)::int as n from audit_events where event = 'password_reset.completed' and user_id = ${user.id}`;
    expect(row?.n).toBe(1);
  });

  test("a passkey of another relying party is refused: the browser offers none for this site, and nothing signs in", async ({
    page,
    createUser,
    db,
  }) => {
    const user = await createUser();
    await conditionalMediation(page, false);
    const authenticator = await addVirtualAuthenticator(page);
    // Stored for the account, too: only the relying party differs.
    await givePasskey(db, authenticator, user, { rpId: "evil.example" });

    await page.goto("/login");
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expect(page.getByTestId("passkey-error")).toHaveText(NO_PASSKEY_USED);
    await expect(page).toHaveURL(/\/login$/);
    expect(await assertions(authenticator)).toBe(0);
    expect(await sessionsOf(db, user)).toEqual([]);
  });

  test("a replayed assertion is refused, even with the ceremony's own cookie", async ({ page, createUser, db, playwright, ip }) => {
    const user = await createUser();
    await conditionalMediation(page, false);
    const authenticator = await addVirtualAuthenticator(page);
    await givePasskey(db, authenticator, user);

    const captured = page.waitForRequest(isAssertionPost);
    await page.goto("/login");
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expect(page).toHaveURL(/\/account$/);
    const request = await captured;
    const headers = await request.allHeaders();
    expect(headers.cookie).toContain("rekey.passkey-ceremony=");

    // The same bytes again, with the same cookies, from elsewhere: the challenge was spent.
    const elsewhere = await playwright.request.newContext({ baseURL: page.url() });
    const replay = await elsewhere.post(request.url(), {
      headers: Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith(":") && name !== "content-length")),
      data: request.postData() ?? "",
      maxRedirects: 0,
    });
    expect(await replay.text()).toContain(REFUSED);
    expect(replay.headers()["set-cookie"] ?? "").not.toContain("authjs.session-token");
    await elsewhere.dispose();
    expect(await sessionsOf(db, user)).toHaveLength(1);
    expect(await auditDetails(db, "user.sign_in_failed", ip)).toEqual([{ method: "passkey", reason: "ceremony_expired" }]);
  });

  test("a passkey without user verification is refused: by the browser when asked for it, and by the server when the request is bent not to ask", async ({
    page,
    createUser,
    db,
    ip,
  }) => {
    const user = await createUser();
    await conditionalMediation(page, false);
    const authenticator = await addVirtualAuthenticator(page);
    await givePasskey(db, authenticator, user);
    await authenticator.setUserVerified(false);

    await page.goto("/login");
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expect(page.getByTestId("passkey-error")).toHaveText(NO_PASSKEY_USED);

    // A client that does not ask for verification (the server's options rewritten on the way):
    // the authenticator signs without it, and the server refuses the assertion.
    await page.route("**/login/passkey", async (route) => {
      if (route.request().method() !== "POST") return route.continue();
      const response = await route.fetch();
      const body = (await response.text()).replace('"userVerification":"required"', '"userVerification":"discouraged"');
      await route.fulfill({ response, body });
    });
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expect(page.getByTestId("passkey-error")).toHaveText(REFUSED);
    expect(await assertions(authenticator)).toBe(1);
    expect(await sessionsOf(db, user)).toEqual([]);
    expect(await auditDetails(db, "user.sign_in_failed", ip)).toEqual([{ method: "passkey", reason: "passkey_refused" }]);
  });

  test("a passkey the server does not know gets exactly the answer of a wrong signature", async ({ page, createUser, db, ip }) => {
    const user = await createUser();
    await conditionalMediation(page, false);
    const authenticator = await addVirtualAuthenticator(page);
    await givePasskey(db, authenticator, user, { stored: false });

    await page.goto("/login");
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expect(page.getByTestId("passkey-error")).toHaveText(REFUSED);
    expect(await assertions(authenticator)).toBe(1);

    const page2 = await page.context().newPage();
    const other = await createUser();
    const known = await addVirtualAuthenticator(page2);
    await givePasskey(db, known, other);
    // One byte of the signature changed on its way to the server.
    await page2.route("**/login", async (route) => {
      const request = route.request();
      if (!isAssertionPost(request)) return route.continue();
      const postData = (request.postData() ?? "").replace(
        /"signature":"(.)/,
        (_, first: string) => `"signature":"${first === "A" ? "B" : "A"}`,
      );
      await route.continue({ postData });
    });
    await conditionalMediation(page2, false);
    await page2.goto("/login");
    await page2.getByRole("button", { name: "Sign in with a passkey" }).click();
    // The same words, the same audit row: nothing tells a stranger's passkey from a forged one.
    await expect(page2.getByTestId("passkey-error")).toHaveText(REFUSED);
    expect(await sessionsOf(db, other)).toEqual([]);
    expect(await auditDetails(db, "user.sign_in_failed", ip)).toEqual([
      { method: "passkey", reason: "passkey_refused" },
      { method: "passkey", reason: "passkey_refused" },
    ]);
  });

  test("the challenge route answers this site only: options for this relying party and a short-lived httpOnly cookie; another origin gets 403 and no cookie", async ({
    request,
  }) => {
    const own = await request.post("/login/passkey", { headers: { Origin: E2E.appUrl } });
    expect(own.status()).toBe(200);
    expect(own.headers()["cache-control"]).toContain("no-store");
    const body = (await own.json()) as { ok: boolean; options: { rpId: string; userVerification: string; allowCredentials?: unknown[] } };
    expect(body.ok).toBe(true);
    expect(body.options).toMatchObject({ rpId: new URL(E2E.appUrl).hostname, userVerification: "required" });
    expect(body.options.allowCredentials ?? []).toEqual([]);
    expect(own.headers()["set-cookie"]).toMatch(/rekey\.passkey-ceremony=[A-Za-z0-9_-]{43};.*Max-Age=300;.*HttpOnly; SameSite=strict/i);

    const forged = await request.post("/login/passkey", { headers: { Origin: "https://evil.example" } });
    expect(forged.status()).toBe(403);
    expect(forged.headers()["set-cookie"]).toBeUndefined();
    expect((await request.get("/login/passkey")).status()).toBe(405);
  });

  test("the sign-in pages are axe-clean with the passkey button", async ({ page }) => {
    await page.goto("/login");
    await expect(page.getByRole("button", { name: "Sign in with a passkey" })).toBeVisible();
    await expectNoSeriousViolations(page);
  });

  test("without JavaScript the pages say passkeys need it, and the password and codes still work", async ({
    browser,
    createUser,
    db,
    mailbox,
  }) => {
    const user: TestUser = await createUser();
    const seeded = await browser.newContext();
    const seededPage = await seeded.newPage();
    await givePasskey(db, await addVirtualAuthenticator(seededPage), user);
    await seeded.close();
    const context = await browser.newContext({ javaScriptEnabled: false, extraHTTPHeaders: { "x-forwarded-for": uniqueIp() } });
    const page = await context.newPage();

    await page.goto("/login");
    await expect(page.getByTestId("passkey-needs-javascript")).toHaveText(/Signing in with a passkey needs JavaScript.*work without it/);
    await passwordStep(page, user);
    await expect(page.getByTestId("passkey-needs-javascript")).toHaveText(/An authentication code or a recovery code works without it/);
    await expect(page.getByLabel("Recovery code")).toBeVisible();

    const token = await resetTokenFor(page.request, mailbox, user.email);
    await page.goto(`/reset-password/${token}`);
    await expect(page.getByTestId("passkey-needs-javascript")).toHaveText(/A recovery code works without it/);
    await page.getByRole("link", { name: "Use a recovery code" }).click();
    await expect(page.getByLabel("Recovery code")).toBeVisible();
    await context.close();
  });
});
