import type { Page } from "@playwright/test";
import { expectNoSeriousViolations } from "./support/axe";
import { STRONG_PASSWORD, expect, signIn, test } from "./support/fixtures";
import { rawRequest } from "./support/forms";
import { givePasskey } from "./support/passkey-sign-in";
import { addVirtualAuthenticator, insertPasskeyRow } from "./support/passkeys";
import { PATHS, bearerTokenFor, call, expectContract } from "./api/support/api";

const PAGE = "/account/passkeys";

/** Adds a passkey named `name` on the passkeys page (already confirmed), as a person would. */
async function addPasskey(page: Page, name: string): Promise<void> {
  await page.getByLabel("Passkey name").fill(name);
  await page.getByRole("button", { name: "Add a passkey" }).click();
}

/** Makes this user's sessions older than the "Confirm it's you" window. */
async function staleConfirmation(db: import("postgres").Sql, userId: string): Promise<void> {
  await db`update sessions set created_at = now() - interval '1 hour', password_checked_at = null, second_factor_at = null where user_id = ${userId}`;
}

test.describe("passkeys page", () => {
  test("adds a passkey (recovery codes once, an email), lists it, renames it and removes it (an email)", async ({
    page,
    createUser,
    mailbox,
    db,
  }) => {
    const user = await createUser();
    const authenticator = await addVirtualAuthenticator(page);
    await signIn(page, user);
    await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Passkeys" }).click();
    await expect(page.getByRole("heading", { name: "Passkeys", level: 1 })).toBeVisible();
    await expect(page.getByTestId("no-passkeys")).toBeVisible();
    await expectNoSeriousViolations(page);

    // An empty name is refused before the device is asked.
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await expect(page.getByText("Give the passkey a name.")).toBeVisible();
    expect(await authenticator.credentials()).toEqual([]);

    const added = authenticator.nextCredentialAdded();
    await addPasskey(page, "Work laptop");
    const credential = await added;
    expect(credential.rpId).toBe("localhost");
    expect(credential.isResidentCredential).toBe(true);
    // The first passkey of an account without recovery codes brings a set, shown once.
    await expect(page.getByTestId("recovery-codes").getByRole("listitem")).toHaveCount(10);
    await expect(page.getByText(/Passkey “Work laptop” added/)).toBeVisible();
    // Said of what they stand in for here: the passkey, not an authenticator app.
    await expect(page.getByText(/If you lose your passkey \(or the device that holds it\), each of these codes/)).toBeVisible();
    await expect(page.getByText(/If you lose your phone/)).toHaveCount(0);
    await expectNoSeriousViolations(page);
    const addedMail = await mailbox.waitFor(user.email, /^A passkey was added to your Rekey account$/);
    expect(addedMail.text).toContain("A passkey named “Work laptop” was added");
    expect(addedMail.text).toMatch(/\/wasnt-me\/[A-Za-z0-9_-]{43}/);

    await page.getByRole("link", { name: "I have saved my recovery codes" }).click();
    const row = page.getByTestId("passkey-row");
    await expect(row).toHaveCount(1);
    await expect(row.getByTestId("passkey-name")).toHaveText("Work laptop");
    await expect(row.getByTestId("passkey-last-used")).toHaveText("Never");
    await expect(row.getByTestId("passkey-kind")).toHaveText("This device only");
    await expectNoSeriousViolations(page);

    await row.getByLabel("New name for Work laptop").fill("Old laptop");
    await row.getByRole("button", { name: "Rename Work laptop" }).click();
    await expect(page.getByText("The passkey was renamed.")).toBeVisible();
    await expect(page.getByTestId("passkey-name")).toHaveText("Old laptop");

    await page.getByRole("button", { name: "Remove Old laptop" }).click();
    await expect(page.getByText("The passkey was removed. We emailed you about it.")).toBeVisible();
    await expect(page.getByTestId("no-passkeys")).toBeVisible();
    const removedMail = await mailbox.waitFor(user.email, /^A passkey was removed from your Rekey account$/);
    expect(removedMail.text).toContain("The passkey named “Old laptop” was removed");
    expect(await db`select id from passkeys where user_id = ${user.id}`).toHaveLength(0);
  });

  test('adding needs "Confirm it\'s you": a stale session gets the form, and an add started before it went stale is refused', async ({
    page,
    createUser,
    db,
  }) => {
    const user = await createUser();
    const authenticator = await addVirtualAuthenticator(page);
    await signIn(page, user);
    await page.goto(PAGE);
    await expect(page.getByLabel("Passkey name")).toBeVisible();

    // The add form is on screen, but the confirmation runs out before it is used: the server
    // actions check again and refuse, and the device is never asked.
    await staleConfirmation(db, user.id);
    await addPasskey(page, "Sneaky");
    await expect(page.getByTestId("passkey-error")).toContainText("confirm");
    expect(await authenticator.credentials()).toEqual([]);
    expect(await db`select id from passkeys where user_id = ${user.id}`).toHaveLength(0);

    await page.reload();
    await expect(page.getByLabel("Passkey name")).toHaveCount(0);
    const confirm = page.getByTestId("confirm-identity");
    await expect(confirm).toBeVisible();
    await expectNoSeriousViolations(page);
    await confirm.getByLabel("Password", { exact: true }).fill(user.password);
    await confirm.getByRole("button", { name: /Confirm/ }).click();
    const added = authenticator.nextCredentialAdded();
    await addPasskey(page, "Mine");
    await added;
    await expect(page.getByTestId("recovery-codes")).toBeVisible();
  });

  test("user verification missing: the passkey is refused and nothing is stored", async ({ page, createUser, db }) => {
    const user = await createUser();
    const authenticator = await addVirtualAuthenticator(page, { isUserVerified: false });
    await signIn(page, user);
    await page.goto(PAGE);
    await addPasskey(page, "No UV");
    await expect(page.getByTestId("passkey-error")).toBeVisible();
    expect(await db`select id from passkeys where user_id = ${user.id}`).toHaveLength(0);
    await authenticator.setUserVerified(true);
    const added = authenticator.nextCredentialAdded();
    await addPasskey(page, "With UV");
    await added;
    await expect(page.getByTestId("recovery-codes")).toBeVisible();
  });

  test("a forged Host header does not change the relying party", async ({ page, createUser, ip }) => {
    const user = await createUser();
    const authenticator = await addVirtualAuthenticator(page);
    await signIn(page, user);
    await page.goto(PAGE);
    // The page's first server action (the options) is sent again straight to the server, as an
    // attacker's client would: Host, X-Forwarded-Host and a matching Origin all say evil.example.
    let replayed: Promise<string> | undefined;
    await page.route(`**${PAGE}`, async (route) => {
      const request = route.request();
      if (request.method() === "POST" && !replayed) {
        const headers = await request.allHeaders();
        const body = request.postDataBuffer() ?? Buffer.alloc(0);
        replayed = rawRequest({
          method: "POST",
          path: PAGE,
          headers: {
            ...Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith(":"))),
            host: "evil.example",
            "x-forwarded-host": "evil.example",
            "x-forwarded-proto": "https",
            origin: "https://evil.example",
            "x-forwarded-for": ip,
            "content-length": String(body.length),
          },
          body,
        }).then((response) => `${response.status} ${response.body}`);
      }
      await route.fallback();
    });
    const added = authenticator.nextCredentialAdded();
    await addPasskey(page, "Forged host");
    expect((await added).rpId).toBe("localhost");
    await expect(page.getByTestId("recovery-codes")).toBeVisible();
    const answer = await replayed!;
    expect(answer.slice(0, 1000)).toMatch(/^200 /);
    expect(answer).toContain('"rp":{"name":"Rekey","id":"localhost"}');
    expect(answer).not.toContain("evil.example");
  });

  test("without JavaScript the page says passkeys need it, and renaming still works", async ({ browser, createUser, db, ip }) => {
    const user = await createUser();
    const context = await browser.newContext({ javaScriptEnabled: false, extraHTTPHeaders: { "x-forwarded-for": ip } });
    const page = await context.newPage();
    // Signed in before the account had a passkey: a password sign-in of one goes to the second step.
    await signIn(page, user);
    await insertPasskeyRow(db, user.id, "Phone");
    // As if this session had then used the passkey: with one on the account, adding needs a second factor.
    await db`update sessions set second_factor_at = now() where user_id = ${user.id}`;
    await page.goto(PAGE);
    await expect(page.getByTestId("passkeys-need-javascript")).toContainText("Adding a passkey needs JavaScript");
    await expect(page.getByTestId("passkeys-need-javascript")).toContainText("Everything else works without it");
    await page.getByLabel("New name for Phone").fill("Old phone");
    await page.getByRole("button", { name: "Rename Phone" }).click();
    await expect(page.getByTestId("passkey-name")).toHaveText("Old phone");
    await context.close();
  });
});

test.describe("passkeys after a password change", () => {
  test('the sessions page lists them with a way to remove them all, behind "Confirm it\'s you"', async ({
    page,
    createUser,
    db,
    mailbox,
  }) => {
    const user = await createUser();
    // A passkey this browser's authenticator holds: "Confirm it's you" then asks for it.
    const authenticator = await addVirtualAuthenticator(page);
    await signIn(page, user);
    await givePasskey(db, authenticator, user, { name: "Laptop" });
    await insertPasskeyRow(db, user.id, "Phone");
    await page.goto("/account/sessions");
    const section = page.getByTestId("sessions-passkeys");
    await expect(section.getByTestId("passkey-name")).toHaveText(["Laptop", "Phone"]);
    await expectNoSeriousViolations(page);
    await staleConfirmation(db, user.id);
    await page.reload();
    await expect(section.getByRole("button", { name: "Remove all passkeys" })).toHaveCount(0);
    await section.getByLabel("Password", { exact: true }).fill(user.password);
    await section.getByRole("button", { name: "Confirm with a passkey" }).click();
    await section.getByRole("button", { name: "Remove all passkeys" }).click();
    await expect(page.getByText("Every passkey was removed from your account.")).toBeVisible();
    await expect(page.getByTestId("sessions-passkeys")).toHaveCount(0);
    const mail = await mailbox.waitFor(user.email, /^Every passkey was removed from your Rekey account$/);
    expect(mail.text).toContain("All 2 passkeys of your Rekey account were removed.");
  });

  test('"This wasn\'t me" removes a passkey added after the reported change and keeps the older one', async ({
    page,
    browser,
    createUser,
    mailbox,
    db,
    ip,
  }) => {
    const user = await createUser();
    const authenticator = await addVirtualAuthenticator(page);
    await signIn(page, user);
    await insertPasskeyRow(db, user.id, "Owner's key");
    // As if this session had signed in with the owner's passkey at the second step: with a
    // passkey on the account, adding another needs a second factor.
    await db`update sessions set second_factor_at = now() where user_id = ${user.id}`;
    await page.goto("/account/password");
    await page.getByLabel("Current password").fill(user.password);
    await page.getByLabel("New password", { exact: true }).fill("Intruder-Chose-7");
    await page.getByLabel("Confirm new password").fill("Intruder-Chose-7");
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page).toHaveURL(/\/account\?notice=password-changed$/);
    const changedMail = await mailbox.waitFor(user.email, /password was changed/i);
    expect(changedMail.text).toContain("“Owner's key”");
    const report = await mailbox.link(user.email, /password was changed/i, "/wasnt-me/");

    // The intruder adds a passkey to keep a way in.
    await page.goto(PAGE);
    const added = authenticator.nextCredentialAdded();
    await addPasskey(page, "Intruder's key");
    await added;
    await expect(page.getByTestId("recovery-codes")).toBeVisible();

    const owner = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-for": ip } });
    const ownerPage = await owner.newPage();
    await ownerPage.goto(report);
    await ownerPage.getByRole("button", { name: "Secure my account" }).click();
    await expect(ownerPage.getByRole("heading", { name: "Your account is secured" })).toBeVisible();
    const left = await db`select name from passkeys where user_id = ${user.id}`;
    expect(left.map((r) => r.name)).toEqual(["Owner's key"]);
    await owner.close();
  });
});

test.describe("passkeys API", () => {
  test("GET lists the passkeys without key material; DELETE removes one and the owner is emailed", async ({
    request,
    createUser,
    db,
    mailbox,
  }) => {
    const user = await createUser({ password: STRONG_PASSWORD });
    // Signed in before the passkey existed (the API's sign-in of an account with one asks for a
    // second factor), and marked as having passed one: removing a passkey needs it.
    const token = await bearerTokenFor(request, user);
    const id = await insertPasskeyRow(db, user.id, "Laptop");
    await db`update sessions set second_factor_at = now() where user_id = ${user.id}`;
    const auth = { authorization: `Bearer ${token}` };
    const list = await call(request, PATHS.passkeys, { method: "GET", headers: auth });
    expect(list.status).toBe(200);
    await expectContract(list, { method: "get", path: PATHS.passkeys });
    expect(list.body).toEqual({
      passkeys: [{ id, name: "Laptop", created_at: expect.any(String), last_used_at: null, device_type: "singleDevice", backed_up: false }],
    });
    const [row] = await db`select credential_id, public_key from passkeys where id = ${id}`;
    expect(list.text).not.toContain(row!.credential_id);
    expect(list.text).not.toContain(row!.public_key);

    const removed = await call(request, `/api/v1/passkeys/${id}`, { method: "DELETE", headers: auth });
    expect(removed.status).toBe(204);
    expect(removed.text).toBe("");
    expect((await call(request, PATHS.passkeys, { method: "GET", headers: auth })).body).toEqual({ passkeys: [] });
    await mailbox.waitFor(user.email, /^A passkey was removed from your Rekey account$/);
  });
});
