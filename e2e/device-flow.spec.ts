// The device flow (RFC 8628) end to end: the tool's side is this test calling the API (as a
// command-line tool would, with fetch), the person's side is Chromium on /device.
import { createHash } from "node:crypto";
import type { APIRequestContext, APIResponse, Page } from "@playwright/test";
import type { Sql } from "postgres";
import { expect, test, uniqueIp, type TestUser } from "./support/fixtures";
import { E2E } from "./support/settings";
import { PATHS, call, expectContract } from "./api/support/api";

const CODE = PATHS.deviceCode;
const TOKEN = PATHS.deviceToken;
const GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";
const OAUTH_ERRORS = [
  "invalid_request",
  "unsupported_grant_type",
  "invalid_grant",
  "authorization_pending",
  "slow_down",
  "access_denied",
  "expired_token",
];

interface Codes {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

/** The tool asks for codes (JSON, or form-encoded as OAuth libraries send it). */
async function requestCodes(request: APIRequestContext, clientName: string, form = false): Promise<Codes> {
  const response = await request.post(CODE, form ? { form: { client_name: clientName } } : { data: { client_name: clientName } });
  expect(response.status()).toBe(200);
  expect(response.headers()["cache-control"]).toBe("no-store");
  return (await response.json()) as Codes;
}

/** One poll, JSON or form-encoded with the grant type. */
async function poll(request: APIRequestContext, deviceCode: string, form = false): Promise<APIResponse> {
  return request.post(TOKEN, form ? { form: { grant_type: GRANT_TYPE, device_code: deviceCode } } : { data: { device_code: deviceCode } });
}

async function expectOAuthError(response: APIResponse, error: string): Promise<void> {
  expect(response.status(), await response.text()).toBe(400);
  const body = (await response.json()) as { error: string; error_description: string };
  expect(body.error).toBe(error);
  expect(typeof body.error_description).toBe("string");
}

/** Lets the next poll come after the interval without the test waiting for it. */
const afterInterval = (db: Sql, codes: Codes) =>
  db`update device_authorizations set last_polled_at = now() - interval '1 minute' where device_code_hash = ${sha256(codes.device_code)}`;

/** Signs in on the login page a redirect led to, and waits to be sent back to `back`. */
async function signInHere(page: Page, user: TestUser, back: RegExp): Promise<void> {
  await expect(page).toHaveURL(/\/login\?callbackUrl=/);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password", { exact: true }).fill(user.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(back);
}

/** Types the code at /device and waits for the review step. */
async function enterCode(page: Page, userCode: string): Promise<void> {
  await page.getByLabel("Code").fill(userCode);
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("heading", { name: "Sign in a device?" })).toBeVisible();
}

test.describe("device authorization", () => {
  test("the tool polls, the person signs in and approves on /device, the token is issued once and the session is listed", async ({
    page,
    request,
    createUser,
    db,
    mailbox,
  }) => {
    const user = await createUser();
    const codes = await requestCodes(request, "rekey-cli on e2e-box");
    expect(codes.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(codes.verification_uri).toBe(`${E2E.appUrl}/device`);
    expect(codes.verification_uri_complete).toBe(`${E2E.appUrl}/device?code=${codes.user_code}`);
    expect(codes).toMatchObject({ expires_in: 600, interval: 5 });
    await expectOAuthError(await poll(request, codes.device_code), "authorization_pending");

    // Opening the complete link, signed out then signed in, fills the code in and changes nothing.
    await page.goto(codes.verification_uri_complete);
    await signInHere(page, user, /\/device\?code=/);
    await expect(page.getByLabel("Code")).toHaveValue(codes.user_code);
    await page.reload();
    const [row] = await db`select status, user_id from device_authorizations where device_code_hash = ${sha256(codes.device_code)}`;
    expect(row).toEqual({ status: "pending", user_id: null });

    await page.getByRole("button", { name: "Continue" }).click();
    await expect(page.getByTestId("device-client-name")).toHaveText("rekey-cli on e2e-box");
    await expect(page.getByTestId("device-request")).toContainText("UTC");
    await page.getByRole("button", { name: "Approve" }).click();
    await expect(page.getByTestId("form-success")).toContainText("Approved");

    const issued = await poll(request, codes.device_code);
    expect(issued.status()).toBe(200);
    expect(issued.headers()["cache-control"]).toBe("no-store");
    const token = (await issued.json()) as {
      access_token: string;
      token_type: string;
      expires_in: number;
      user: { id: string; email: string };
    };
    expect(token).toMatchObject({ token_type: "Bearer", user: { id: user.id, email: user.email } });
    expect(token.expires_in).toBeGreaterThan(0);
    const sessions = await db`select kind, client_name from sessions where session_token_hash = ${sha256(token.access_token)}
      and expires_at > now() and credentials_version = (select credentials_version from users where id = ${user.id})`;
    expect(sessions).toEqual([{ kind: "device", client_name: "rekey-cli on e2e-box" }]);
    // The token works as a bearer token on the API, and says who it is.
    const me = await request.get("/api/v1/me", { headers: { authorization: `Bearer ${token.access_token}` } });
    expect(me.status()).toBe(200);
    expect(await me.json()).toMatchObject({ id: user.id, email: user.email });

    // Never again for that code: not by polling, not by typing the user code once more.
    await expectOAuthError(await poll(request, codes.device_code), "invalid_grant");
    await afterInterval(db, codes);
    await expectOAuthError(await poll(request, codes.device_code, true), "invalid_grant");
    await page.goto("/device");
    await page.getByLabel("Code").fill(codes.user_code);
    await page.getByRole("button", { name: "Continue" }).click();
    await expect(page.getByText("That code has already been approved or denied.")).toBeVisible();

    await page.goto("/account/sessions");
    await expect(page.getByTestId("session-row").filter({ hasText: "rekey-cli on e2e-box (command-line tool)" })).toHaveCount(1);
    // A tool signed in is a new device: the owner is told, after the browser's own first sign-in.
    const notice = await mailbox.waitFor(user.email, /^New sign-in to your Rekey account$/, 2);
    expect(notice.text).toMatch(/\/wasnt-me\/[A-Za-z0-9_-]{43}/);
  });

  test("denied: the tool gets access_denied (form-encoded, as OAuth libraries poll) and no token", async ({
    page,
    request,
    createUser,
    db,
  }) => {
    const user = await createUser();
    const codes = await requestCodes(request, "deny-me", true);
    await page.goto("/device");
    await signInHere(page, user, /\/device$/);
    await enterCode(page, ` ${codes.user_code.toLowerCase().replace("-", " ")} `);
    await page.getByRole("button", { name: "Deny" }).click();
    await expect(page.getByTestId("form-success")).toContainText("Denied");
    await expectOAuthError(await poll(request, codes.device_code, true), "access_denied");
    expect(await db`select 1 from sessions where user_id = ${user.id} and kind = 'device'`).toHaveLength(0);
  });

  test("polled sooner than the interval: slow_down, and the interval grows by 5 seconds", async ({ request, db }) => {
    const codes = await requestCodes(request, "impatient");
    await expectOAuthError(await poll(request, codes.device_code), "authorization_pending");
    await expectOAuthError(await poll(request, codes.device_code), "slow_down");
    const [row] = await db`select interval_seconds from device_authorizations where device_code_hash = ${sha256(codes.device_code)}`;
    expect(row?.interval_seconds).toBe(10);
  });

  test("expired: expired_token to the tool, and /device says so", async ({ page, request, createUser, db }) => {
    const user = await createUser();
    const codes = await requestCodes(request, "too-late");
    await db`update device_authorizations set expires_at = now() - interval '1 second' where device_code_hash = ${sha256(codes.device_code)}`;
    await expectOAuthError(await poll(request, codes.device_code), "expired_token");
    await page.goto(codes.verification_uri_complete);
    await signInHere(page, user, /\/device\?code=/);
    await page.getByRole("button", { name: "Continue" }).click();
    await expect(page.getByText("That code has expired.")).toBeVisible();
  });

  test("a password change between approval and poll: no token", async ({ page, request, createUser, db }) => {
    const user = await createUser();
    const codes = await requestCodes(request, "before-reset");
    await page.goto(codes.verification_uri_complete);
    await signInHere(page, user, /\/device\?code=/);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("button", { name: "Approve" }).click();
    await expect(page.getByTestId("form-success")).toContainText("Approved");
    await db`update users set credentials_version = credentials_version + 1 where id = ${user.id}`;
    await expectOAuthError(await poll(request, codes.device_code), "expired_token");
    expect(await db`select 1 from sessions where user_id = ${user.id} and kind = 'device'`).toHaveLength(0);
  });

  test("code requests are limited per IP: 429 with Retry-After past 20 an hour", async ({ request }) => {
    const headers = { "x-forwarded-for": uniqueIp() };
    for (let i = 0; i < 20; i++) expect((await request.post(CODE, { data: { client_name: "loop" }, headers })).status()).toBe(200);
    const limited = await request.post(CODE, { data: { client_name: "loop" }, headers });
    expect(limited.status()).toBe(429);
    expect(Number(limited.headers()["retry-after"])).toBeGreaterThan(0);
    expect(((await limited.json()) as { error: string }).error).toBe("slow_down");
  });

  test("bad input to both endpoints: 4xx in OAuth's error shape, never a 5xx", async ({ request }) => {
    const long = "x".repeat(17 * 1024);
    const rows: { path: string; name: string; body: string; contentType: string; status: number; error: string }[] = [
      {
        path: CODE,
        name: "malformed JSON",
        body: '{"client_name": ',
        contentType: "application/json",
        status: 400,
        error: "invalid_request",
      },
      { path: CODE, name: "an empty body", body: "", contentType: "application/json", status: 400, error: "invalid_request" },
      { path: CODE, name: "JSON null", body: "null", contentType: "application/json", status: 400, error: "invalid_request" },
      { path: CODE, name: "a JSON array", body: "[]", contentType: "application/json", status: 400, error: "invalid_request" },
      { path: CODE, name: "client_name missing", body: "{}", contentType: "application/json", status: 400, error: "invalid_request" },
      {
        path: CODE,
        name: "client_name a number",
        body: '{"client_name": 7}',
        contentType: "application/json",
        status: 400,
        error: "invalid_request",
      },
      {
        path: CODE,
        name: "client_name blank",
        body: "client_name=%20%20",
        contentType: "application/x-www-form-urlencoded",
        status: 400,
        error: "invalid_request",
      },
      {
        path: CODE,
        name: "client_name 101 characters",
        body: JSON.stringify({ client_name: "a".repeat(101) }),
        contentType: "application/json",
        status: 400,
        error: "invalid_request",
      },
      {
        path: CODE,
        name: "client_name with a control character",
        body: '{"client_name": "a\\u0007b"}',
        contentType: "application/json",
        status: 400,
        error: "invalid_request",
      },
      {
        path: CODE,
        name: "client_name repeated in a form",
        body: "client_name=a&client_name=b",
        contentType: "application/x-www-form-urlencoded",
        status: 400,
        error: "invalid_request",
      },
      { path: CODE, name: "text/plain", body: "client_name=a", contentType: "text/plain", status: 415, error: "invalid_request" },
      {
        path: CODE,
        name: "multipart",
        body: '--b\r\nContent-Disposition: form-data; name="client_name"\r\n\r\nb\r\n--b--\r\n',
        contentType: "multipart/form-data; boundary=b",
        status: 415,
        error: "invalid_request",
      },
      {
        path: CODE,
        name: `a body over the cap`,
        body: `client_name=${long}`,
        contentType: "application/x-www-form-urlencoded",
        status: 413,
        error: "invalid_request",
      },
      {
        path: TOKEN,
        name: "device_code missing",
        body: `grant_type=${encodeURIComponent(GRANT_TYPE)}`,
        contentType: "application/x-www-form-urlencoded",
        status: 400,
        error: "invalid_request",
      },
      {
        path: TOKEN,
        name: "another grant_type",
        body: "grant_type=password&device_code=abc",
        contentType: "application/x-www-form-urlencoded",
        status: 400,
        error: "unsupported_grant_type",
      },
      {
        path: TOKEN,
        name: "grant_type in JSON, wrong",
        body: '{"grant_type": "authorization_code", "device_code": "abc"}',
        contentType: "application/json",
        status: 400,
        error: "unsupported_grant_type",
      },
      {
        path: TOKEN,
        name: "an unknown device code",
        body: JSON.stringify({ device_code: "A".repeat(43) }),
        contentType: "application/json",
        status: 400,
        error: "invalid_grant",
      },
      {
        path: TOKEN,
        name: "a device code of garbage",
        body: JSON.stringify({ device_code: "🔑'; drop table users; --" }),
        contentType: "application/json",
        status: 400,
        error: "invalid_grant",
      },
      {
        path: TOKEN,
        name: "device_code 600 characters",
        body: JSON.stringify({ device_code: "A".repeat(600) }),
        contentType: "application/json",
        status: 400,
        error: "invalid_request",
      },
      {
        path: TOKEN,
        name: "device_code an object",
        body: '{"device_code": {"$ne": null}}',
        contentType: "application/json",
        status: 400,
        error: "invalid_request",
      },
      {
        path: TOKEN,
        name: "device_code repeated",
        body: "device_code=a&device_code=b",
        contentType: "application/x-www-form-urlencoded",
        status: 400,
        error: "invalid_request",
      },
      {
        path: TOKEN,
        name: "JSON in UTF-16",
        body: "{}",
        contentType: "application/json; charset=utf-16",
        status: 415,
        error: "invalid_request",
      },
    ];
    for (const row of rows) {
      const result = await call(request, row.path, {
        raw: row.body,
        contentType: row.contentType,
        headers: { "x-forwarded-for": uniqueIp() },
      });
      expect(result.status, `${row.path} ${row.name}: ${result.text}`).toBe(row.status);
      await expectContract(result, { method: "post", path: row.path });
      const body = result.body as { error: string; error_description: string };
      expect(OAUTH_ERRORS, row.name).toContain(body.error);
      expect(body.error, row.name).toBe(row.error);
      expect(body.error_description.length, row.name).toBeGreaterThan(0);
    }
    // An escape that is not UTF-8 in a form: URLSearchParams decodes it to U+FFFD, a name like any other.
    const replaced = await request.post(CODE, {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      data: "client_name=%FF",
    });
    expect(replaced.status()).toBe(200);
    // Other methods: 405 in the API's own error shape.
    for (const path of [CODE, TOKEN]) {
      const get = await request.get(path);
      expect(get.status()).toBe(405);
      expect(((await get.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed");
    }
  });
});

test.describe("device authorization without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the person enters the code, confirms it's them in place and approves; the tool gets its token", async ({
    page,
    request,
    createUser,
    db,
  }) => {
    const user = await createUser();
    const codes = await requestCodes(request, "no-js-cli");
    await page.goto("/device");
    await signInHere(page, user, /\/device$/);
    // A wrong code is named at the field.
    await page.getByLabel("Code").fill("BBBB-BBBB");
    await page.getByRole("button", { name: "Continue" }).click();
    await expect(page.getByText("No request has that code.")).toBeVisible();
    // The sign-in was too long ago to count as "Confirm it's you".
    await db`update sessions set password_checked_at = now() - interval '1 hour', created_at = now() - interval '1 hour' where user_id = ${user.id}`;
    await enterCode(page, codes.user_code);
    await expect(page.getByRole("heading", { name: "Confirm it's you" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Approve" })).toHaveCount(0);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    await expect(page.getByTestId("device-client-name")).toHaveText("no-js-cli");
    await page.getByRole("button", { name: "Approve" }).click();
    await expect(page.getByTestId("form-success")).toContainText("Approved");
    const issued = await poll(request, codes.device_code, true);
    expect(issued.status()).toBe(200);
    await expectOAuthError(await poll(request, codes.device_code, true), "invalid_grant");
  });
});
