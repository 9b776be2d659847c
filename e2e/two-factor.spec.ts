import { readFile } from "node:fs/promises";
import { expectNoSeriousViolations } from "./support/axe";
import { expect, signIn, test } from "./support/fixtures";
import { Authenticator, enableTwoFactor } from "./support/two-factor";

const CODE_SHAPE = /^[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){3}$/;

test.describe("two-factor enrolment", () => {
  test("turns on with a code from the setup key; ten recovery codes are shown once, downloadable, and an email says so", async ({
    page,
    createUser,
    mailbox,
    db,
  }) => {
    const user = await createUser();
    await signIn(page, user);
    await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Two-factor" }).click();
    await expect(page.getByRole("heading", { name: "Two-factor authentication", level: 1 })).toBeVisible();
    await expect(page.getByRole("img", { name: /QR code/ })).toBeVisible();
    await expect(page.getByText("Setup key", { exact: true })).toBeVisible();
    await expectNoSeriousViolations(page);

    // A wrong code is refused with a message on the field; nothing is turned on.
    const setupKey = (await page.getByTestId("setup-key").innerText()).trim();
    const authenticator = new Authenticator(setupKey);
    await page.getByLabel("Authentication code").fill(authenticator.staleCode());
    await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
    await expect(page.getByText(/That code is not right/)).toBeVisible();
    await page.reload();
    await expect(page.getByTestId("setup-key")).toHaveText(setupKey);

    await page.getByLabel("Authentication code").fill(await authenticator.code());
    await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
    const list = page.getByTestId("recovery-codes");
    await expect(list.getByRole("listitem")).toHaveCount(10);
    const codes = (await list.getByRole("listitem").allInnerTexts()).map((c) => c.trim());
    for (const code of codes) expect(code).toMatch(CODE_SHAPE);
    await expectNoSeriousViolations(page);

    const downloading = page.waitForEvent("download");
    await page.getByRole("link", { name: "Download" }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toBe("rekey-recovery-codes.txt");
    const text = await readFile(await download.path(), "utf8");
    for (const code of codes) expect(text).toContain(code);

    await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
    await page.getByRole("button", { name: "Copy" }).click();
    await expect(page.getByText("Copied to the clipboard.")).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(codes.join("\n"));

    const email = await mailbox.waitFor(user.email, /^Two-factor authentication was turned on$/);
    expect(email.text).toContain("Two-factor authentication was turned on for your Rekey account.");

    // Shown once: afterwards the page says how many are left, never the codes.
    await page.getByRole("link", { name: "I have saved my recovery codes" }).click();
    await expect(page.getByTestId("two-factor-status")).toContainText("On");
    await expect(page.getByTestId("recovery-codes-left")).toHaveText("10 recovery codes are left.");
    await expect(page.getByText(codes[0]!)).toHaveCount(0);

    // Stored sealed and hashed: neither the key nor a code is in the database in the clear.
    const [row] = await db`select two_factor_secret from users where id = ${user.id}`;
    expect(row!.two_factor_secret).not.toContain(setupKey.replace(/\s+/g, ""));
    const stored = await db`select code_hash from recovery_codes where user_id = ${user.id}`;
    expect(stored).toHaveLength(10);
    for (const { code_hash } of stored) expect(codes.map((c) => c.replace(/-/g, ""))).not.toContain(code_hash);
  });

  test("new recovery codes replace every old one", async ({ page, createUser }) => {
    const user = await createUser();
    await signIn(page, user);
    const { recoveryCodes } = await enableTwoFactor(page);
    await page.goto("/account/two-factor");
    await page.getByRole("button", { name: "Generate new recovery codes" }).click();
    const list = page.getByTestId("recovery-codes");
    await expect(list.getByRole("listitem")).toHaveCount(10);
    const fresh = (await list.getByRole("listitem").allInnerTexts()).map((c) => c.trim());
    expect(fresh.filter((c) => recoveryCodes.includes(c))).toEqual([]);
    await expect(page.getByText("New recovery codes made. The old ones no longer work. We emailed you about it.")).toBeVisible();
  });

  test('turning it off needs the password and a current code ("Confirm it\'s you"), and emails the user', async ({
    page,
    createUser,
    mailbox,
    db,
  }) => {
    const user = await createUser();
    await signIn(page, user);
    const { authenticator } = await enableTwoFactor(page);
    // Past REAUTH_MINUTES since the sign-in and the enrolment's code: the page asks again.
    await db`update sessions set password_checked_at = now() - interval '11 minutes', second_factor_at = now() - interval '11 minutes' where user_id = ${user.id}`;
    await page.goto("/account/two-factor");
    await expect(page.getByRole("button", { name: "Turn off two-factor authentication" })).toHaveCount(0);
    const confirm = page.getByTestId("confirm-identity");

    await confirm.getByLabel("Password", { exact: true }).fill("Not-The-Password-1");
    await confirm.getByLabel("Authentication code").fill(await authenticator.code());
    await confirm.getByRole("button", { name: "Confirm" }).click();
    await expect(confirm.getByText("That is not your password.")).toBeVisible();

    await confirm.getByLabel("Password", { exact: true }).fill(user.password);
    await confirm.getByLabel("Authentication code").fill(authenticator.staleCode());
    await confirm.getByRole("button", { name: "Confirm" }).click();
    await expect(confirm.getByText(/That code is not right/)).toBeVisible();
    await page.reload();
    await expect(page.getByTestId("two-factor-status")).toContainText("On");
    await expect(page.getByRole("button", { name: "Turn off two-factor authentication" })).toHaveCount(0);

    await confirm.getByLabel("Password", { exact: true }).fill(user.password);
    await confirm.getByLabel("Authentication code").fill(await authenticator.code());
    await confirm.getByRole("button", { name: "Confirm" }).click();
    await page.getByRole("button", { name: "Turn off two-factor authentication" }).click();
    await expect(page.getByText("Two-factor authentication is off. We emailed you about it.")).toBeVisible();
    await expect(page.getByTestId("setup-key")).toBeVisible();
    const email = await mailbox.waitFor(user.email, /^Two-factor authentication was turned off$/);
    expect(email.text).toContain("Signing in now needs only your password.");
  });

  test.describe("without JavaScript", () => {
    test.use({ javaScriptEnabled: false });

    test("turns on and shows the recovery codes with a download link", async ({ page, createUser }) => {
      const user = await createUser();
      await signIn(page, user);
      const { recoveryCodes } = await enableTwoFactor(page);
      expect(recoveryCodes).toHaveLength(10);
      await expect(page.getByRole("link", { name: "Download" })).toHaveAttribute("href", /^data:text\/plain/);
      await expect(page.getByRole("button", { name: "Copy" })).toHaveCount(0);
    });
  });
});
