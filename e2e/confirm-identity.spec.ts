// "Confirm it's you" from outside, on the production build: a session cookie whose password
// entry is older than REAUTH_MINUTES (set back in the database, as the clock would) is what a
// stolen cookie or a browser left signed in gives. It must not reach the setup key, turn
// two-factor on or off, or replace the recovery codes; the page asks in place and carries on.
import type { Browser, BrowserContext, Page } from "@playwright/test";
import type { Sql } from "postgres";
import { expectNoSeriousViolations } from "./support/axe";
import { expect, signIn, test, uniqueIp } from "./support/fixtures";
import { Authenticator, enableTwoFactor } from "./support/two-factor";

const PAGE = "/account/two-factor";
const CONFIRM_FIRST = /Confirm it's you first: this change needs your password/;

/** The user's sessions as a stolen cookie would be: signed in (or confirmed) 11 minutes ago, past REAUTH_MINUTES (10). */
async function makeStale(db: Sql, userId: string): Promise<void> {
  await db`update sessions set password_checked_at = now() - interval '11 minutes',
    second_factor_at = case when second_factor_at is null then null else now() - interval '11 minutes' end
    where user_id = ${userId}`;
}

/** Another browser of its own (cookies, IP). */
async function otherBrowser(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-for": uniqueIp() } });
  return { context, page: await context.newPage() };
}

/** Fills and sends the "Confirm it's you" form on `page`. */
async function confirm(page: Page, password: string, code?: string): Promise<void> {
  const form = page.getByTestId("confirm-identity");
  await form.getByLabel("Password", { exact: true }).fill(password);
  if (code !== undefined) await form.getByLabel("Authentication code").fill(code);
  await form.getByRole("button", { name: "Confirm" }).click();
}

test.describe("Confirm it's you", () => {
  test("a stale session cannot see the setup key or turn two-factor on; after confirming on the page it can, and other password-only sessions end", async ({
    page,
    browser,
    createUser,
    mailbox,
    db,
  }) => {
    const user = await createUser();
    const others = [await otherBrowser(browser), await otherBrowser(browser)];
    for (const other of others) await signIn(other.page, user);
    await signIn(page, user);

    // Loaded while this session was fresh (a sign-in counts): the form to turn it on is there.
    await page.goto(PAGE);
    const setupKey = (await page.getByTestId("setup-key").innerText()).trim();
    const authenticator = new Authenticator(setupKey);

    // The cookie alone: the post of the action, with a right code from the key, is refused.
    await makeStale(db, user.id);
    await page.getByLabel("Authentication code").fill(await authenticator.code());
    await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
    await expect(page.getByTestId("form-error")).toContainText(CONFIRM_FIRST);
    const [off] = await db`select two_factor_enabled_at from users where id = ${user.id}`;
    expect(off!.two_factor_enabled_at).toBeNull();

    // The page itself shows neither the key nor the QR code, and asks in place.
    await page.reload();
    await expect(page.getByRole("heading", { name: "Confirm it's you" })).toBeVisible();
    await expect(page.getByTestId("setup-key")).toHaveCount(0);
    await expect(page.getByRole("img", { name: /QR code/ })).toHaveCount(0);
    await expect(page.getByText(setupKey)).toHaveCount(0);
    await expectNoSeriousViolations(page);

    await confirm(page, "Not-The-Password-1");
    await expect(page.getByText("That is not your password.")).toBeVisible();
    await expectNoSeriousViolations(page);
    await confirm(page, user.password);

    // Back on the same page, which carries on: the key (the same one, still pending) and the form.
    await expect(page).toHaveURL(new RegExp(`${PAGE}$`));
    await expect(page.getByTestId("setup-key")).toHaveText(setupKey);
    await page.getByLabel("Authentication code").fill(await authenticator.code());
    await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
    await expect(page.getByText("Two-factor authentication is on. 2 other sessions were signed out.")).toBeVisible();
    await expect(page.getByTestId("recovery-codes").getByRole("listitem")).toHaveCount(10);

    // The password-only browsers are signed out; this one is marked as having passed the code.
    for (const other of others) {
      await other.page.goto("/account");
      await expect(other.page).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
      await other.context.close();
    }
    const rows = await db`select second_factor_at is not null as verified from sessions where user_id = ${user.id}`;
    expect(rows).toEqual([{ verified: true }]);
    const [revoked] = await db`select details from audit_events where event = 'sessions.revoked' and user_id = ${user.id}`;
    expect(revoked!.details).toEqual({ count: 2, reason: "two_factor_enabled" });
    await mailbox.waitFor(user.email, /^Two-factor authentication was turned on$/);
  });

  test("with no other session, turning it on says nothing about sessions", async ({ page, createUser }) => {
    const user = await createUser();
    await signIn(page, user);
    await enableTwoFactor(page);
    await expect(page.getByText("Two-factor authentication is on.", { exact: true })).toBeVisible();
  });

  test("a stale session cannot replace the recovery codes or turn two-factor off; confirming with the password and a code can, and new codes are emailed", async ({
    page,
    createUser,
    mailbox,
    db,
  }) => {
    const user = await createUser();
    await signIn(page, user);
    const { recoveryCodes, authenticator } = await enableTwoFactor(page);
    await page.goto(PAGE);
    const storedCodes = async () =>
      (await db`select code_hash from recovery_codes where user_id = ${user.id} order by code_hash`).map((r) => r.code_hash);
    const before = await storedCodes();

    // Loaded while confirmed, posted once stale: refused, and nothing changes.
    await makeStale(db, user.id);
    await page.getByRole("button", { name: "Generate new recovery codes" }).click();
    await expect(page.getByRole("form", { name: "Generate new recovery codes" }).getByRole("alert")).toContainText(CONFIRM_FIRST);
    expect(await storedCodes()).toEqual(before);
    await page.getByRole("button", { name: "Turn off two-factor authentication" }).click();
    await expect(page.getByRole("form", { name: "Turn off two-factor authentication" }).getByRole("alert")).toContainText(CONFIRM_FIRST);
    const [still] = await db`select two_factor_enabled_at is not null as on from users where id = ${user.id}`;
    expect(still!.on).toBe(true);

    // The page asks for the password and a code: the password alone is not enough.
    await page.reload();
    await expect(page.getByRole("button", { name: "Generate new recovery codes" })).toHaveCount(0);
    await confirm(page, user.password, "");
    await expect(page.getByText(/Your account uses two-factor authentication: enter the code/)).toBeVisible();
    await confirm(page, user.password, authenticator.staleCode());
    await expect(page.getByText(/That code is not right, or it was already used/)).toBeVisible();
    await expectNoSeriousViolations(page);
    await confirm(page, user.password, await authenticator.code());

    await page.getByRole("button", { name: "Generate new recovery codes" }).click();
    const list = page.getByTestId("recovery-codes");
    await expect(list.getByRole("listitem")).toHaveCount(10);
    const fresh = (await list.getByRole("listitem").allInnerTexts()).map((c) => c.trim());
    expect(fresh.filter((c) => recoveryCodes.includes(c))).toEqual([]);
    const email = await mailbox.waitFor(user.email, /^New recovery codes were made$/);
    expect(email.text).toContain("Your old recovery codes no longer work.");
    expect(email.text).toContain("If this wasn't you");
    const audited =
      await db`select count(*)::int as n from audit_events where event = 'two_factor.recovery_codes_replaced' and user_id = ${user.id}`;
    expect(audited[0]!.n).toBe(1);

    // Stale again: confirming with one of the new recovery codes works too, then turning it off.
    await makeStale(db, user.id);
    await page.goto(PAGE);
    await confirm(page, user.password, fresh[0]!);
    await page.getByRole("button", { name: "Turn off two-factor authentication" }).click();
    await expect(page.getByText("Two-factor authentication is off. We emailed you about it.")).toBeVisible();
    await mailbox.waitFor(user.email, /^A recovery code was used \(9 left\)$/);
  });

  test.describe("without JavaScript", () => {
    test.use({ javaScriptEnabled: false });

    test("a direct POST of the turn-on action with a stale session cookie is refused with a clear message", async ({
      page,
      createUser,
      db,
      baseURL,
    }) => {
      const user = await createUser();
      await signIn(page, user);
      // The form's fields (the action's id among them) as served to a fresh session.
      await page.goto(PAGE);
      const setupKey = (await page.getByTestId("setup-key").innerText()).trim();
      const form = page.getByRole("form", { name: "Turn on two-factor authentication" });
      const fields: Record<string, string> = {};
      for (const input of await form.locator("input").all()) {
        const name = await input.getAttribute("name");
        if (name) fields[name] = (await input.getAttribute("value")) ?? "";
      }
      fields.code = await new Authenticator(setupKey).code();

      await makeStale(db, user.id);
      const response = await page.request.post(PAGE, { multipart: fields, headers: { origin: baseURL! } });
      expect(response.status()).toBe(200);
      expect((await response.text()).replace(/&#x27;/g, "'")).toMatch(CONFIRM_FIRST);
      const [row] = await db`select two_factor_enabled_at from users where id = ${user.id}`;
      expect(row!.two_factor_enabled_at).toBeNull();
      const recovery = await db`select count(*)::int as n from recovery_codes where user_id = ${user.id}`;
      expect(recovery[0]!.n).toBe(0);
    });

    test("confirms in place and lands back on the page with the setup key", async ({ page, createUser, db }) => {
      const user = await createUser();
      await signIn(page, user);
      await makeStale(db, user.id);
      await page.goto(PAGE);
      await expect(page.getByTestId("setup-key")).toHaveCount(0);
      await confirm(page, "Not-The-Password-1");
      await expect(page.getByText("That is not your password.")).toBeVisible();
      await confirm(page, user.password);
      await expect(page).toHaveURL(new RegExp(`${PAGE}$`));
      await expect(page.getByTestId("setup-key")).toBeVisible();
    });
  });
});
