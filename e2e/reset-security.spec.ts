import { readFile } from "node:fs/promises";
import type { Page } from "@playwright/test";
import { actionFormFields, multipart, postWithForgedHost } from "./support/forms";
import { expect, test, uniqueEmail, uniqueIp } from "./support/fixtures";
import { E2E } from "./support/settings";

const NEW_PASSWORD = "Fresh-Start-2026!";

async function requestReset(page: Page, email: string): Promise<void> {
  await page.goto("/forgot-password");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send reset link" }).click();
  await expect(page.getByTestId("forgot-password-answer")).toBeVisible();
}

async function completeReset(page: Page, link: string): Promise<void> {
  await page.goto(link);
  await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("Confirm new password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page).toHaveURL(/\/login\?notice=password-reset$/);
}

test.describe("reset links under attack and inspection", () => {
  test("mail scanners' GET and HEAD, three times each, do not spend the link", async ({ page, request, createUser, mailbox }) => {
    const user = await createUser();
    await requestReset(page, user.email);
    const link = await mailbox.resetLink(user.email);
    for (let i = 0; i < 3; i++) {
      expect((await request.get(link)).status()).toBe(200);
      expect((await request.head(link)).status()).toBe(200);
    }
    await completeReset(page, link);
  });

  test("the link page forbids referrers, caching and indexing, and loads nothing from another origin", async ({
    page,
    createUser,
    mailbox,
  }) => {
    const user = await createUser();
    await requestReset(page, user.email);
    const link = await mailbox.resetLink(user.email);

    const origins = new Set<string>();
    page.on("request", (r) => origins.add(new URL(r.url()).origin));
    const response = await page.goto(link);
    await expect(page.getByRole("heading", { name: "Choose a new password" })).toBeVisible();
    const headers = response?.headers() ?? {};
    expect(headers["referrer-policy"]).toBe("no-referrer");
    expect(headers["cache-control"]).toContain("no-store");
    expect(headers["x-robots-tag"]).toContain("noindex");
    expect([...origins]).toEqual([E2E.appUrl]);

    for (const path of ["/reset-password/not-a-real-token", new URL(link).pathname]) {
      const head = await page.request.head(path);
      expect(head.headers()["referrer-policy"]).toBe("no-referrer");
    }
  });

  test("the development outbox does not exist in a production build", async ({ request }) => {
    const response = await request.get("/dev/outbox");
    expect(response.status()).toBe(404);
    expect(await response.text()).not.toContain("Development outbox");
  });

  test("an expired link says it expired and offers a new one", async ({ page, createUser, mailbox, db }) => {
    const user = await createUser();
    await requestReset(page, user.email);
    const link = await mailbox.resetLink(user.email);
    await db`update password_reset_tokens set expires_at = now() - interval '1 minute' where user_id = ${user.id}`;
    await page.goto(link);
    await expect(page.getByRole("heading", { name: "This link has expired" })).toBeVisible();
    await page.getByRole("link", { name: "Request a new link" }).click();
    await expect(page).toHaveURL(/\/forgot-password$/);
  });

  test("an unknown or mangled link says it is not valid", async ({ page }) => {
    for (const token of ["A".repeat(43), "short", "../../etc/passwd", "x".repeat(3000)]) {
      await page.goto(`/reset-password/${encodeURIComponent(token)}`);
      await expect(page.getByRole("heading", { name: "This link is not valid" })).toBeVisible();
    }
  });

  test("a forged Host and X-Forwarded-Host still get a link to APP_URL", async ({ createUser, mailbox, ip }) => {
    const user = await createUser();
    const fields = await actionFormFields("/forgot-password");
    const { body, contentType } = multipart({ ...fields, email: user.email });
    const response = await postWithForgedHost({ path: "/forgot-password", ip, contentType, body });
    expect(response.status).toBe(200);
    expect(response.body).toContain("If an account exists for that email");
    const link = await mailbox.resetLink(user.email);
    expect(new URL(link).origin).toBe(E2E.appUrl);
    const message = await mailbox.waitFor(user.email, /reset your rekey password/i);
    expect(message.html).not.toContain("evil.example");
    expect(message.text).not.toContain("evil.example");
  });

  test("the 4th request for one address in an hour sends no email and answers the same", async ({ page, mailbox, createUser, db, ip }) => {
    const user = await createUser();
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) {
      await requestReset(page, user.email);
      answers.push((await page.getByTestId("forgot-password-answer").textContent()) ?? "");
    }
    expect(new Set(answers).size).toBe(1);
    // The 4th request's job decided "throttled": no email can come of it. The first three are
    // sent after their answers, by jobs of their own, and may still be on their way.
    await expect
      .poll(
        async () =>
          (
            await db`select count(*)::int as n from audit_events where event = 'password_reset.throttled' and ip = ${ip} and details->>'limit' = 'email'`
          )[0]?.n,
      )
      .toBe(1);
    await expect
      .poll(async () => (await mailbox.messages(user.email)).length, { message: "the first three reset emails", timeout: 15_000 })
      .toBe(3);
  });

  test("past the per-IP limit the form says to try again later", async ({ page }) => {
    // Default limit: 10 requests an hour from one IP (this test's own address).
    for (let i = 0; i < 10; i++) await requestReset(page, uniqueEmail("ip-limit"));
    await page.goto("/forgot-password");
    await page.getByLabel("Email").fill(uniqueEmail("ip-limit"));
    await page.getByRole("button", { name: "Send reset link" }).click();
    await expect(page.getByTestId("form-error")).toHaveText(/^Too many requests, try again in (\d+) minutes?\.$/);
    await expect(page.getByTestId("forgot-password-answer")).toHaveCount(0);
  });

  test("the answer goes out before the account-dependent work: a hung mail provider changes nothing", async ({
    page,
    createUser,
    db,
    mailbox,
  }) => {
    // The stand-in never answers "hang-" recipients; the app gives up after MAIL_TIMEOUT_MS (2 s).
    const user = await createUser({ email: uniqueEmail("hang") });
    const stranger = uniqueEmail("nobody");
    await requestReset(page, user.email);
    const known = await page.getByTestId("forgot-password-answer").textContent();
    // Had the answer waited for the email, the failure would already be recorded.
    const before =
      await db`select count(*)::int as n from audit_events where user_id = ${user.id} and event = 'password_reset.email_failed'`;
    expect(before[0]?.n).toBe(0);
    await requestReset(page, stranger);
    expect(await page.getByTestId("forgot-password-answer").textContent()).toBe(known);
    await expect
      .poll(
        async () =>
          (await db`select count(*)::int as n from audit_events where user_id = ${user.id} and event = 'password_reset.email_failed'`)[0]
            ?.n,
        { timeout: 15_000 },
      )
      .toBe(1);
    expect(await mailbox.messages(user.email)).toEqual([]);
  });

  test("after a full flow the raw token, and an app's bearer token, are in no database table and no server log line", async ({
    page,
    request,
    createUser,
    mailbox,
    db,
  }) => {
    const user = await createUser();
    // An app signed in over the API before the reset, and used its token once.
    const signedIn = await request.post("/api/v1/auth/sign-in", {
      data: { email: user.email, password: user.password, client_name: "scan test" },
      headers: { "x-forwarded-for": uniqueIp() },
    });
    expect(signedIn.status()).toBe(200);
    const bearer = ((await signedIn.json()) as { access_token: string }).access_token;
    expect((await request.get("/api/v1/me", { headers: { authorization: `Bearer ${bearer}` } })).status()).toBe(200);
    await requestReset(page, user.email);
    const link = await mailbox.resetLink(user.email);
    const token = link.split("/").at(-1)!;
    await page.goto(link);
    await completeReset(page, link);
    await mailbox.waitFor(user.email, /password was changed/i);

    const tables = await db<{ table_name: string }[]>`select table_name from information_schema.tables where table_schema = 'public'`;
    expect(tables.length).toBeGreaterThanOrEqual(8);
    // The deferred work that carried the token between attempts is among them.
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(["jobs", "password_reset_tokens"]));
    for (const { table_name } of tables) {
      const rows = await db.unsafe(`select * from "${table_name}"`);
      expect(JSON.stringify(rows), `table ${table_name}`).not.toContain(token);
      expect(JSON.stringify(rows), `table ${table_name}`).not.toContain(bearer);
    }
    const log = await readFile(E2E.serverLog, "utf8");
    expect(log.length).toBeGreaterThan(0);
    expect(log).toContain("password_reset.completed");
    expect(log).not.toContain(token);
    expect(log).not.toContain(bearer);
    // And the reset ended the app's session.
    expect((await request.get("/api/v1/me", { headers: { authorization: `Bearer ${bearer}` } })).status()).toBe(401);
  });
});
