import { createHash } from "node:crypto";
import type { APIRequestContext } from "@playwright/test";
import { rawRequest } from "../support/forms";
import { STRONG_PASSWORD, expect, signIn, test, uniqueEmail, uniqueIp } from "../support/fixtures";
import { insertPasskeyRow } from "../support/passkeys";
import { E2E } from "../support/settings";
import { MAX_BODY_BYTES, PATHS, bearerTokenFor, call, errorCode, errorFields, expectContract, type ApiResult } from "./support/api";

type Expected = { status: number; code?: string; fields?: string[]; body?: unknown };

interface Row {
  name: string;
  expected: Expected;
  method?: string;
  json?: unknown;
  raw?: string | Buffer;
  contentType?: string;
  /** Sent with Node's http client: exactly these headers (no Content-Type, or chunked without Content-Length). */
  node?: { headers: Record<string, string>; body: string };
}

interface Endpoint {
  path: string;
  /** A well-formed body, and what it gets: it reaches the service and has no lasting effect. */
  valid: () => Record<string, unknown>;
  reachesService: Expected;
  /** Per field: what a unicode value gets, and what its absence gets when not 400 (a field one of two may carry). */
  fields: Record<string, { unicode: [unknown, Expected]; missing?: Expected }>;
  /** Authenticated by the session cookie of a browser sign-in, or by a bearer token from the API's sign-in. */
  signedIn?: boolean;
  bearer?: boolean;
  /** Rows for optional fields, which valid() leaves out. */
  extra?: () => Row[];
}

const invalidJson: Expected = { status: 400, code: "invalid_json" };
const notAnObject: Expected = { status: 400, code: "validation_error" };
const unsupported: Expected = { status: 415, code: "unsupported_media_type" };
const tooLarge: Expected = { status: 413, code: "payload_too_large" };
const wrongType = (field: string): Expected => ({ status: 400, code: "validation_error", fields: [field] });
const refused = (field: string): Expected => ({ status: 422, code: "validation_error", fields: [field] });
const FRESH_PASSWORD = "Fresh-Start-2026!";
const UNKNOWN_TOKEN = "A".repeat(43);

const CHANGE_PASSWORD: Endpoint = {
  path: PATHS.change,
  // The right current password and the same one as new: refused by the service, changes nothing
  // and does not count against the wrong-password limit.
  valid: () => ({ current_password: STRONG_PASSWORD, new_password: STRONG_PASSWORD }),
  reachesService: { status: 422, code: "validation_error", fields: ["new_password"] },
  fields: {
    current_password: { unicode: ["Пароль-неверный-7", { status: 422, code: "invalid_current_password", fields: ["current_password"] }] },
    new_password: { unicode: ["пароль", refused("new_password")] },
  },
};

const ENDPOINTS: Record<string, Endpoint> = {
  "forgot-password": {
    path: PATHS.forgot,
    valid: () => ({ email: uniqueEmail("bad-input") }),
    reachesService: { status: 202, body: { message: "If an account exists for that email, a password reset link has been sent." } },
    fields: { email: { unicode: ["ünïcödé@exämple.com", refused("email")] } },
  },
  "verify-reset-token": {
    path: PATHS.verify,
    valid: () => ({ token: UNKNOWN_TOKEN }),
    reachesService: { status: 200, body: { valid: false, reason: "invalid" } },
    fields: { token: { unicode: ["🔑".repeat(43), { status: 200, body: { valid: false, reason: "invalid" } }] } },
  },
  "reset-password": {
    path: PATHS.reset,
    valid: () => ({ token: UNKNOWN_TOKEN, new_password: FRESH_PASSWORD }),
    reachesService: { status: 400, code: "invalid_token" },
    fields: {
      token: { unicode: ["ключ-".repeat(8), { status: 400, code: "invalid_token" }] },
      // Well-formed (upper, lower, digit, special), so it reaches the token check.
      new_password: { unicode: ["Pässwörd-Ünïcode-9", { status: 400, code: "invalid_token" }] },
    },
  },
  "email-change/confirm": {
    path: PATHS.confirmEmailChange,
    valid: () => ({ token: UNKNOWN_TOKEN, password: FRESH_PASSWORD }),
    reachesService: { status: 400, code: "invalid_token" },
    fields: {
      token: { unicode: ["ключ-".repeat(8), { status: 400, code: "invalid_token" }] },
      password: { unicode: ["Pässwörd-Ünïcode-9", { status: 400, code: "invalid_token" }] },
    },
  },
  "change-password": { ...CHANGE_PASSWORD, signedIn: true },
  "change-password (bearer)": { ...CHANGE_PASSWORD, bearer: true },
  "sign-in": {
    path: PATHS.signIn,
    // An address without an account: the service answers as for a wrong password.
    valid: () => ({ email: uniqueEmail("bad-input"), password: "Wrong-Pass-2026!" }),
    reachesService: { status: 401, code: "invalid_credentials" },
    fields: {
      email: { unicode: ["ünïcödé@exämple.com", refused("email")] },
      password: { unicode: ["Pässwörd-Ünïcode-9", { status: 401, code: "invalid_credentials" }] },
    },
    extra: () => [
      {
        name: "client_name a number",
        json: { email: uniqueEmail("bad-input"), password: "x", client_name: 7 },
        expected: wrongType("client_name"),
      },
      {
        name: "client_name 10,000 characters",
        json: { email: uniqueEmail("bad-input"), password: "x", client_name: "n".repeat(10_000) },
        expected: refused("client_name"),
      },
      {
        name: "client_name with control characters and emoji (stored cleaned)",
        json: { email: uniqueEmail("bad-input"), password: "x", client_name: "CLI\u0000\u001b[31m🔑" },
        expected: { status: 401, code: "invalid_credentials" },
      },
      {
        name: "device_token an object",
        json: { email: uniqueEmail("bad-input"), password: "x", device_token: {} },
        expected: wrongType("device_token"),
      },
      {
        name: "device_token garbage (counts for nothing)",
        json: { email: uniqueEmail("bad-input"), password: "x", device_token: "d1.forged.~~~" + "x".repeat(3000) },
        expected: { status: 401, code: "invalid_credentials" },
      },
    ],
  },
  "sign-in second factor": {
    path: PATHS.signInSecondFactor,
    valid: () => ({ challenge: UNKNOWN_TOKEN, otp: "123456" }),
    reachesService: { status: 401, code: "invalid_challenge" },
    fields: {
      challenge: { unicode: ["ключ-".repeat(8), { status: 401, code: "invalid_challenge" }] },
      // Without otp the body must carry recovery_code: a refused combination, not a wrong type.
      otp: { unicode: ["١٢٣٤٥٦", refused("otp")], missing: refused("otp") },
    },
    extra: () => [
      {
        name: "recovery_code instead of otp",
        json: { challenge: UNKNOWN_TOKEN, recovery_code: "abcd-efgh" },
        expected: { status: 401, code: "invalid_challenge" },
      },
      { name: "recovery_code a number", json: { challenge: UNKNOWN_TOKEN, recovery_code: 5 }, expected: wrongType("recovery_code") },
      { name: "recovery_code empty", json: { challenge: UNKNOWN_TOKEN, recovery_code: "" }, expected: refused("recovery_code") },
    ],
  },
  register: {
    path: PATHS.register,
    valid: () => ({ email: uniqueEmail("bad-input-register"), password: FRESH_PASSWORD }),
    reachesService: { status: 202, body: { message: "Check your email to finish creating your account." } },
    fields: {
      email: { unicode: ["ünïcödé@exämple.com", refused("email")] },
      password: {
        unicode: ["Pässwörd-Ünïcode-9", { status: 202, body: { message: "Check your email to finish creating your account." } }],
      },
    },
    extra: () => [
      {
        name: "a common password",
        json: { email: uniqueEmail("bad-input-register"), password: "P@ssw0rd" },
        expected: refused("password"),
      },
    ],
  },
};

/** A body of exactly `bytes` bytes: `body` as JSON, padded with spaces. */
function padded(body: unknown, bytes: number): string {
  const text = JSON.stringify(body);
  return text + " ".repeat(bytes - Buffer.byteLength(text));
}

function rowsFor(endpoint: Endpoint): Row[] {
  const valid = endpoint.valid;
  const all = Object.keys(valid());
  const rows: Row[] = [
    { name: "malformed JSON", raw: '{"a": ', contentType: "application/json", expected: invalidJson },
    { name: "an empty body", raw: "", contentType: "application/json", expected: invalidJson },
    { name: "JSON followed by garbage", raw: `${JSON.stringify(valid())} x`, contentType: "application/json", expected: invalidJson },
    { name: "single quotes", raw: JSON.stringify(valid()).replace(/"/g, "'"), contentType: "application/json", expected: invalidJson },
    {
      name: "bytes that are not UTF-8",
      raw: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
      contentType: "application/json",
      expected: invalidJson,
    },
    { name: "JSON null", json: null, expected: notAnObject },
    { name: "a JSON array", json: [], expected: notAnObject },
    { name: "the valid body inside an array", json: [valid()], expected: notAnObject },
    { name: "a JSON string", json: "hello", expected: notAnObject },
    { name: "a JSON number", json: 42, expected: notAnObject },
    {
      name: "an empty object",
      json: {},
      expected: { status: 400, code: "validation_error", fields: all.filter((f) => !endpoint.fields[f]!.missing) },
    },
    { name: "Content-Type text/plain", raw: JSON.stringify(valid()), contentType: "text/plain", expected: unsupported },
    {
      name: "a form post",
      raw: new URLSearchParams(valid() as Record<string, string>).toString(),
      contentType: "application/x-www-form-urlencoded",
      expected: unsupported,
    },
    {
      name: "multipart",
      raw: '--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--b--\r\n',
      contentType: "multipart/form-data; boundary=b",
      expected: unsupported,
    },
    {
      name: "JSON in UTF-16",
      raw: Buffer.from(JSON.stringify(valid()), "utf16le"),
      contentType: "application/json; charset=utf-16",
      expected: unsupported,
    },
    { name: "no Content-Type at all", node: { headers: {}, body: JSON.stringify(valid()) }, expected: unsupported },
    {
      name: `a body of ${MAX_BODY_BYTES + 1} bytes`,
      raw: padded(valid(), MAX_BODY_BYTES + 1),
      contentType: "application/json",
      expected: tooLarge,
    },
    { name: "a 1 MiB body", raw: padded(valid(), 1024 * 1024), contentType: "application/json", expected: tooLarge },
    // No Content-Length to trust: the cap holds while the body streams in.
    {
      name: "an oversized chunked body without Content-Length",
      node: { headers: { "content-type": "application/json" }, body: padded(valid(), 64 * 1024) },
      expected: tooLarge,
    },
    {
      name: `a body of exactly ${MAX_BODY_BYTES} bytes`,
      raw: padded(valid(), MAX_BODY_BYTES),
      contentType: "application/json",
      expected: endpoint.reachesService,
    },
    {
      name: "Content-Type with charset=UTF-8",
      raw: JSON.stringify(valid()),
      contentType: "Application/JSON; charset=UTF-8",
      expected: endpoint.reachesService,
    },
    {
      name: "unknown fields (ignored)",
      json: { ...valid(), role: "admin", extra: [1, { deep: null }], __proto__x: {} },
      expected: endpoint.reachesService,
    },
    {
      name: "__proto__ and constructor keys (ignored)",
      raw: `{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, ${JSON.stringify(valid()).slice(1)}`,
      contentType: "application/json",
      expected: endpoint.reachesService,
    },
    {
      name: "deep nesting in an unknown field",
      raw: `{"nested": ${"[".repeat(3000)}${"]".repeat(3000)}, ${JSON.stringify(valid()).slice(1)}`,
      contentType: "application/json",
      expected: endpoint.reachesService,
    },
  ];
  for (const field of all) {
    const [unicode, unicodeExpected] = endpoint.fields[field]!.unicode;
    rows.push(
      { name: `${field} missing`, json: omit(valid(), field), expected: endpoint.fields[field]!.missing ?? wrongType(field) },
      { name: `${field} null`, json: { ...valid(), [field]: null }, expected: wrongType(field) },
      { name: `${field} a number`, json: { ...valid(), [field]: 12345 }, expected: wrongType(field) },
      { name: `${field} a boolean`, json: { ...valid(), [field]: true }, expected: wrongType(field) },
      { name: `${field} an array`, json: { ...valid(), [field]: [valid()[field]] }, expected: wrongType(field) },
      { name: `${field} an object`, json: { ...valid(), [field]: { value: valid()[field] } }, expected: wrongType(field) },
      { name: `${field} an empty string`, json: { ...valid(), [field]: "" }, expected: refused(field) },
      { name: `${field} 10,000 characters`, json: { ...valid(), [field]: "Aa1!".repeat(2500) }, expected: refused(field) },
      { name: `${field} in unicode`, json: { ...valid(), [field]: unicode }, expected: unicodeExpected },
    );
  }
  return [...rows, ...(endpoint.extra?.() ?? [])];
}

function omit(body: Record<string, unknown>, field: string): Record<string, unknown> {
  const copy = { ...body };
  delete copy[field];
  return copy;
}

async function send(request: APIRequestContext, endpoint: Endpoint, row: Row, credentials: Record<string, string>): Promise<ApiResult> {
  // Each request its own client address: the per-IP reset limit never masks what is tested.
  const ip = uniqueIp();
  if (row.node) {
    return rawCall(row.method ?? "POST", endpoint.path, { "x-forwarded-for": ip, ...credentials, ...row.node.headers }, row.node.body);
  }
  const options = {
    method: row.method,
    contentType: row.contentType,
    headers: { "x-forwarded-for": ip, ...(credentials.authorization ? { authorization: credentials.authorization } : {}) },
  };
  return "json" in row
    ? call(request, endpoint.path, { ...options, json: row.json })
    : call(request, endpoint.path, { ...options, raw: row.raw });
}

async function check(result: ApiResult, endpoint: Endpoint, row: Row): Promise<void> {
  const where = `${row.name}: ${result.status} ${result.text.slice(0, 300)}`;
  expect(result.status, where).toBeLessThan(500);
  expect(result.status, where).toBe(row.expected.status);
  if (row.expected.code) expect(errorCode(result), where).toBe(row.expected.code);
  if (row.expected.fields) expect(Object.keys(errorFields(result) ?? {}).sort(), where).toEqual([...row.expected.fields].sort());
  else if (result.status >= 400) expect(errorFields(result), where).toBeUndefined();
  if (row.expected.body) expect(result.body, where).toEqual(row.expected.body);
  // And the answer is one the OpenAPI document lists, in the documented shape.
  await expectContract(result, { method: "post", path: endpoint.path });
  expect(result.text, where).not.toMatch(/\bat .+:\d+:\d+|Error:/);
}

for (const [name, endpoint] of Object.entries(ENDPOINTS)) {
  test(`${name}: every bad input gets its 4xx and code, never a 5xx`, async ({ page, request, createUser }) => {
    let context = request;
    const credentials: Record<string, string> = {};
    if (endpoint.signedIn) {
      const user = await createUser({ password: STRONG_PASSWORD });
      await signIn(page, user);
      context = page.request;
      const session = (await page.context().cookies()).find((c) => c.name === "authjs.session-token");
      credentials.cookie = `${session?.name}=${session?.value}`;
    }
    if (endpoint.bearer) {
      const user = await createUser({ password: STRONG_PASSWORD });
      credentials.authorization = `Bearer ${await bearerTokenFor(request, user)}`;
    }
    for (const row of rowsFor(endpoint)) {
      await test.step(row.name, async () => check(await send(context, endpoint, row, credentials), endpoint, row));
    }

    await test.step("other methods answer 405 with Allow; OPTIONS lists the methods", async () => {
      for (const method of ["GET", "PUT", "PATCH", "DELETE", "HEAD"]) {
        const body = method === "GET" || method === "HEAD" ? {} : { json: endpoint.valid() };
        const result = await call(context, endpoint.path, {
          method,
          ...body,
          headers: credentials.authorization ? { authorization: credentials.authorization } : {},
        });
        expect(result.status, method).toBe(405);
        expect(result.headers.allow, method).toBe("POST, OPTIONS");
        await expectContract(result, { method: "post", path: endpoint.path }, { head: method === "HEAD" });
        if (method !== "HEAD") expect(errorCode(result)).toBe("method_not_allowed");
      }
      const options = await call(context, endpoint.path, { method: "OPTIONS" });
      expect(options.status).toBe(204);
      expect(options.headers.allow).toBe("POST, OPTIONS");
    });
  });
}

test("GET endpoints: other methods answer 405 with Allow, HEAD answers like GET", async ({ request }) => {
  for (const path of [PATHS.health, PATHS.openapi]) {
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      const result = await call(request, path, { method, json: {} });
      expect(result.status, `${method} ${path}`).toBe(405);
      expect(result.headers.allow).toBe("GET, HEAD, OPTIONS");
      expect(errorCode(result)).toBe("method_not_allowed");
      await expectContract(result, { method: "get", path });
    }
    const head = await call(request, path, { method: "HEAD" });
    expect(head.status, `HEAD ${path}`).toBe(200);
    expect(head.text).toBe("");
  }
});

// Every endpoint a bearer token authenticates, and what it answers once authenticated.
const BEARER_ENDPOINTS = [
  { method: "POST", path: PATHS.signOut, documented: { method: "post", path: PATHS.signOut } },
  { method: "GET", path: PATHS.me, documented: { method: "get", path: PATHS.me } },
  { method: "GET", path: PATHS.sessions, documented: { method: "get", path: PATHS.sessions } },
  {
    method: "DELETE",
    path: PATHS.session.replace("{id}", "00000000-0000-4000-8000-000000000000"),
    documented: { method: "delete", path: PATHS.session },
  },
] as const;

const BAD_AUTHORIZATION: [string, string | string[]][] = [
  ["the scheme alone", "Bearer"],
  ["the scheme and a space", "Bearer "],
  ["the scheme and many spaces", `Bearer ${" ".repeat(64)}`],
  ["10 kB of garbage", `Bearer ${"#%&".repeat(3400)}`],
  ["an unknown token", `Bearer ${UNKNOWN_TOKEN}`],
  ["a token one character short", `Bearer ${UNKNOWN_TOKEN.slice(1)}`],
  ["Basic credentials", `Basic ${Buffer.from("a:b").toString("base64")}`],
  ["two Authorization headers", [`Bearer ${UNKNOWN_TOKEN}`, `Bearer ${UNKNOWN_TOKEN}`]],
  ["bytes that are not UTF-8", `Bearer \u00ff\u00fe${"A".repeat(41)}`],
];

/** A request through Node's http client: exactly these headers (repeated ones too) and body. */
async function rawCall(method: string, path: string, headers: Record<string, string | string[]>, body?: string): Promise<ApiResult> {
  const response = await rawRequest({
    method,
    path,
    headers: { host: `localhost:${E2E.appPort}`, "x-forwarded-for": uniqueIp(), ...headers } as Record<string, string>,
    body,
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    parsed = undefined;
  }
  const flat = Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k, String(v)]));
  return { status: response.status, headers: flat, bytes: Buffer.from(response.body), text: response.body, body: parsed };
}

test("bearer endpoints: every bad Authorization header is 401 invalid_token with WWW-Authenticate, never a 5xx", async ({
  page,
  createUser,
}) => {
  const user = await createUser({ password: STRONG_PASSWORD });
  await signIn(page, user);
  const session = (await page.context().cookies()).find((c) => c.name === "authjs.session-token");
  const cookie = `${session?.name}=${session?.value}`;
  for (const endpoint of BEARER_ENDPOINTS) {
    await test.step(`${endpoint.method} ${endpoint.path}: no credentials`, async () => {
      const result = await rawCall(endpoint.method, endpoint.path, {});
      expect(result.status).toBe(401);
      expect(errorCode(result)).toBe("invalid_token");
      // RFC 6750 3.1: no error code when the request carried no credentials.
      expect(result.headers["www-authenticate"]).toBe('Bearer realm="rekey"');
      await expectContract(result, endpoint.documented);
    });
    await test.step(`${endpoint.method} ${endpoint.path}: a session cookie alone does not authenticate here`, async () => {
      const result = await rawCall(endpoint.method, endpoint.path, { cookie });
      expect(result.status).toBe(401);
      expect(result.headers["www-authenticate"]).toBe('Bearer realm="rekey"');
    });
    for (const [name, value] of BAD_AUTHORIZATION) {
      await test.step(`${endpoint.method} ${endpoint.path}: ${name}`, async () => {
        const result = await rawCall(endpoint.method, endpoint.path, { authorization: value as string });
        expect(result.status, result.text).toBe(401);
        expect(errorCode(result)).toBe("invalid_token");
        expect(result.headers["www-authenticate"]).toBe('Bearer realm="rekey", error="invalid_token"');
        await expectContract(result, endpoint.documented);
      });
    }
    await test.step(`${endpoint.method} ${endpoint.path}: a bad bearer token with a good cookie: the bearer wins`, async () => {
      const result = await rawCall(endpoint.method, endpoint.path, { authorization: `Bearer ${UNKNOWN_TOKEN}`, cookie });
      expect(result.status).toBe(401);
      expect(errorCode(result)).toBe("invalid_token");
    });
  }
  await test.step("change-password: a bad bearer token with a good cookie: the bearer wins", async () => {
    const result = await rawCall("POST", PATHS.change, {
      authorization: `Bearer ${UNKNOWN_TOKEN}`,
      cookie,
      "content-type": "application/json",
    });
    expect(result.status).toBe(401);
    expect(errorCode(result)).toBe("invalid_token");
    await expectContract(result, { method: "post", path: PATHS.change });
  });
});

test("DELETE /api/v1/sessions/{id}: a malformed, unknown or another account's id is 404 not_found", async ({ request, createUser }) => {
  const owner = await createUser({ password: STRONG_PASSWORD });
  const other = await createUser({ password: STRONG_PASSWORD });
  const token = await bearerTokenFor(request, owner);
  await bearerTokenFor(request, other);
  const otherToken = await bearerTokenFor(request, other);
  const list = await call(request, PATHS.sessions, { method: "GET", headers: { authorization: `Bearer ${otherToken}` } });
  const otherId = (list.body as { sessions: { id: string }[] }).sessions[0]!.id;
  for (const id of ["not-a-uuid", "%00", "x".repeat(5000), "00000000-0000-4000-8000-000000000000", otherId, "..%2F..%2Fme"]) {
    const result = await call(request, `/api/v1/sessions/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
    expect(result.status, `${id.slice(0, 40)}: ${result.text.slice(0, 200)}`).toBe(404);
    expect(errorCode(result)).toBe("not_found");
    await expectContract(result, { method: "delete", path: PATHS.session });
  }
  // The other account's session is untouched.
  expect((await call(request, PATHS.me, { method: "GET", headers: { authorization: `Bearer ${otherToken}` } })).status).toBe(200);
});

test("passkeys API: bad ids are 404, a stale session must confirm, bad bodies and credentials get their 4xx", async ({
  request,
  createUser,
  db,
}) => {
  const owner = await createUser({ password: STRONG_PASSWORD });
  const other = await createUser({ password: STRONG_PASSWORD });
  const token = await bearerTokenFor(request, owner);
  const otherPasskey = await insertPasskeyRow(db, other.id, "Theirs");
  const auth = { authorization: `Bearer ${token}` };
  const documented = { method: "delete", path: PATHS.passkey } as const;

  await test.step("a fresh token: malformed, unknown or another account's id is 404 not_found", async () => {
    for (const id of ["not-a-uuid", "%00", "x".repeat(5000), "00000000-0000-4000-8000-000000000000", otherPasskey, "..%2F..%2Fme"]) {
      const result = await call(request, `/api/v1/passkeys/${id}`, { method: "DELETE", headers: auth });
      expect(result.status, `${id.slice(0, 40)}: ${result.text.slice(0, 200)}`).toBe(404);
      expect(errorCode(result)).toBe("not_found");
      await expectContract(result, documented);
    }
    expect((await db`select count(*)::int as n from passkeys where id = ${otherPasskey}`)[0]!.n).toBe(1);
  });

  await test.step("no credentials, or a bad token: 401", async () => {
    for (const headers of [{}, { authorization: "Bearer nope" }] as Record<string, string>[]) {
      const list = await call(request, PATHS.passkeys, { method: "GET", headers });
      expect(list.status).toBe(401);
      await expectContract(list, { method: "get", path: PATHS.passkeys });
      const removal = await call(request, `/api/v1/passkeys/${otherPasskey}`, { method: "DELETE", headers });
      expect(removal.status).toBe(401);
      await expectContract(removal, documented);
    }
  });

  const mine = await insertPasskeyRow(db, owner.id, "Mine");
  // With a passkey the account has a second factor: confirming takes the password and a code.
  // A recovery code of its own (adding a first passkey makes a set), stored as the app stores one.
  const recoveryCode = "ABCD-EFGH-JKMN-PQRS";
  await db`insert into recovery_codes (user_id, code_hash)
    values (${owner.id}, ${createHash("sha256").update("rekey:recovery-code:ABCDEFGHJKMNPQRS").digest("hex")})`;
  const path = `/api/v1/passkeys/${mine}`;
  await db`update sessions set created_at = now() - interval '1 hour', password_checked_at = null where user_id = ${owner.id}`;
  const rows: [string, Parameters<typeof call>[2], number, string][] = [
    ["no body", { method: "DELETE", headers: auth }, 403, "confirmation_required"],
    ["a body without password", { method: "DELETE", headers: auth, json: {} }, 403, "confirmation_required"],
    ["not JSON", { method: "DELETE", headers: auth, raw: "{", contentType: "application/json" }, 400, "invalid_json"],
    ["text/plain", { method: "DELETE", headers: auth, raw: "password", contentType: "text/plain" }, 415, "unsupported_media_type"],
    ["a password that is not a string", { method: "DELETE", headers: auth, json: { password: 12 } }, 400, "validation_error"],
    [
      "a wrong password",
      { method: "DELETE", headers: auth, json: { password: "Not-The-Password-1", recovery_code: recoveryCode } },
      422,
      "invalid_current_password",
    ],
    [
      "the password without a code",
      { method: "DELETE", headers: auth, json: { password: STRONG_PASSWORD } },
      400,
      "second_factor_required",
    ],
    [
      "too large",
      { method: "DELETE", headers: auth, raw: `{"password":"${"x".repeat(MAX_BODY_BYTES)}"}`, contentType: "application/json" },
      413,
      "payload_too_large",
    ],
  ];
  for (const [name, options, status, code] of rows) {
    await test.step(`a stale session: ${name} is ${status} ${code}`, async () => {
      const result = await call(request, path, options);
      expect(result.status, result.text.slice(0, 300)).toBe(status);
      expect(errorCode(result)).toBe(code);
      await expectContract(result, documented);
    });
  }
  await test.step("a stale session with the password and a code removes it", async () => {
    const result = await call(request, path, {
      method: "DELETE",
      headers: auth,
      json: { password: STRONG_PASSWORD, recovery_code: recoveryCode },
    });
    expect(result.status, result.text).toBe(204);
    expect((await db`select count(*)::int as n from passkeys where id = ${mine}`)[0]!.n).toBe(0);
  });
});
