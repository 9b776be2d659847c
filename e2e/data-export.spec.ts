// The data export from outside, on the production build: the download from /account/export after
// "Confirm it's you" (with and without JavaScript), its content, and GET /api/v1/me/export with a
// bearer token from POST /api/v1/auth/sign-in. A session whose password entry is older than
// REAUTH_MINUTES (set back in the database, as the clock would) is refused.
import { readFile } from "node:fs/promises";
import type { Page } from "@playwright/test";
import type { Sql } from "postgres";
import { expect, signIn, test } from "./support/fixtures";
import { enableTwoFactor } from "./support/two-factor";
import { PATHS, call, errorCode, expectContract } from "./api/support/api";

const PAGE = "/account/export";
const EXPORT = "/api/v1/me/export";
const exportOp = { method: "get", path: EXPORT } as const;

/** The user's sessions as a stolen cookie or an old token would be: past REAUTH_MINUTES (10). */
async function makeStale(db: Sql, userId: string): Promise<void> {
  await db`update sessions set password_checked_at = now() - interval '11 minutes',
    second_factor_at = case when second_factor_at is null then null else now() - interval '11 minutes' end
    where user_id = ${userId}`;
}

/** Clicks the download link and returns the saved file's name and parsed content. */
async function download(page: Page): Promise<{ name: string; text: string; data: ExportFile }> {
  const [file] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download your data (JSON)" }).click()]);
  const text = await readFile((await file.path())!, "utf8");
  return { name: file.suggestedFilename(), text, data: JSON.parse(text) as ExportFile };
}

interface ExportFile {
  format: string;
  account: Record<string, unknown> & { email: string };
  two_factor: { enabled: boolean; enabled_at: string | null; recovery_codes_left: number };
  pending_email_change: { new_email: string; expires_at: string } | null;
  sessions: { kind: string; current: boolean; client_name: string | null; second_factor_at: string | null }[];
  audit_events: { event: string; details: Record<string, unknown> }[];
}

test.describe("data export", () => {
  test('after "Confirm it\'s you" with the code, the page downloads everything held about the account and no secret', async ({
    page,
    createUser,
    db,
  }) => {
    const user = await createUser();
    await signIn(page, user);
    const { setupKey, recoveryCodes, authenticator } = await enableTwoFactor(page);
    const newEmail = `new-${user.email}`;
    await db`insert into email_change_tokens (user_id, token_hash, expires_at, new_email)
      values (${user.id}, ${"e2e-export-" + user.id}, now() + interval '30 minutes', ${newEmail})`;
    await makeStale(db, user.id);

    await page.goto(PAGE);
    await expect(page.getByRole("heading", { name: "Confirm it's you" })).toBeVisible();
    await expect(page.getByRole("link", { name: "Download your data (JSON)" })).toHaveCount(0);
    // The link's target refuses the stale cookie too.
    const refused = await call(page.request, EXPORT, { method: "GET" });
    expect(refused.status).toBe(403);
    expect(errorCode(refused)).toBe("confirmation_required");
    await expectContract(refused, exportOp);

    const form = page.getByTestId("confirm-identity");
    await form.getByLabel("Password", { exact: true }).fill(user.password);
    await form.getByLabel("Authentication code").fill(await authenticator.code());
    await form.getByRole("button", { name: "Confirm" }).click();
    await expect(page).toHaveURL(new RegExp(`${PAGE}$`));

    const { name, text, data } = await download(page);
    expect(name).toMatch(/^rekey-export-\d{4}-\d{2}-\d{2}\.json$/);
    expect(data.format).toBe("rekey.account-export");
    expect(data.account).toMatchObject({ id: user.id, email: user.email, deletion_requested_at: null });
    for (const field of ["created_at", "email_verified_at", "password_changed_at", "credentials_version"]) {
      expect(data.account[field], field).not.toBeNull();
    }
    expect(data.two_factor).toMatchObject({ enabled: true, recovery_codes_left: 10 });
    expect(data.pending_email_change).toMatchObject({ new_email: newEmail });
    expect(data.sessions.filter((s) => s.current)).toEqual([expect.objectContaining({ kind: "browser" })]);
    expect(data.audit_events.map((e) => e.event)).toEqual(
      expect.arrayContaining(["user.signed_in", "two_factor.enabled", "identity.confirmed", "account.exported"]),
    );
    // Nothing secret: the key, the codes, the session cookie, any stored hash.
    const cookie = (await page.context().cookies()).find((c) => c.name.includes("session-token"))!;
    const [row] = await db`select password_hash, two_factor_secret from users where id = ${user.id}`;
    const hashes = await db`select token_hash as h from email_change_tokens where user_id = ${user.id}
      union all select session_token_hash from sessions where user_id = ${user.id}
      union all select code_hash from recovery_codes where user_id = ${user.id}`;
    for (const secret of [
      user.password,
      setupKey,
      setupKey.replace(/\s+/g, ""),
      ...recoveryCodes,
      cookie.value,
      row!.password_hash as string,
      row!.two_factor_secret as string,
      ...hashes.map((h) => h.h as string),
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  test("the API answers a fresh bearer token with the file, and refuses an old one, a stale cookie and no credentials", async ({
    request,
    createUser,
    db,
  }) => {
    const user = await createUser();
    const signedIn = await call(request, PATHS.signIn, {
      json: { email: user.email, password: user.password, client_name: "Export script" },
    });
    expect(signedIn.status).toBe(200);
    const token = (signedIn.body as { access_token: string }).access_token;
    const bearer = { Authorization: `Bearer ${token}` };

    const answer = await call(request, EXPORT, { method: "GET", headers: bearer });
    expect(answer.status).toBe(200);
    await expectContract(answer, exportOp);
    expect(answer.headers["content-disposition"]).toMatch(/^attachment; filename="rekey-export-\d{4}-\d{2}-\d{2}\.json"$/);
    expect(answer.headers["cache-control"]).toBe("no-store");
    const data = answer.body as ExportFile;
    expect(data.account.email).toBe(user.email);
    expect(data.sessions).toEqual([expect.objectContaining({ kind: "app", client_name: "Export script", current: true })]);
    expect(data.pending_email_change).toBeNull();
    expect(answer.text).not.toContain(token);

    await makeStale(db, user.id);
    const stale = await call(request, EXPORT, { method: "GET", headers: bearer });
    expect(stale.status).toBe(403);
    expect(errorCode(stale)).toBe("confirmation_required");
    expect((stale.body as { error: { message: string } }).error.message).toContain("Sign in again");

    const none = await call(request, EXPORT, { method: "GET" });
    expect(none.status).toBe(401);
    await expectContract(none, exportOp);
  });

  test.describe("without JavaScript", () => {
    test.use({ javaScriptEnabled: false });

    test("the confirmation form and the download work as plain requests", async ({ page, createUser, db }) => {
      const user = await createUser();
      await signIn(page, user);
      await makeStale(db, user.id);
      await page.goto(PAGE);
      const form = page.getByTestId("confirm-identity");
      await form.getByLabel("Password", { exact: true }).fill("Not-The-Password-1");
      await form.getByRole("button", { name: "Confirm" }).click();
      await expect(page.getByText("That is not your password.")).toBeVisible();
      await form.getByLabel("Password", { exact: true }).fill(user.password);
      await form.getByRole("button", { name: "Confirm" }).click();

      const { data } = await download(page);
      expect(data.account.email).toBe(user.email);
      expect(data.two_factor).toEqual({ enabled: false, enabled_at: null, recovery_codes_left: 0 });
    });
  });
});
