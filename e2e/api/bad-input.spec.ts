import type { APIRequestContext } from "@playwright/test";
import { rawRequest } from "../support/forms";
import { STRONG_PASSWORD, expect, signIn, test, uniqueEmail, uniqueIp } from "../support/fixtures";
import { E2E } from "../support/settings";
import { MAX_BODY_BYTES, PATHS, call, errorCode, errorFields, expectContract, type ApiResult } from "./support/api";

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
  /** Per field: what a well-formed but refused value, a huge one and a unicode one get. */
  fields: Record<string, { unicode: [unknown, Expected] }>;
  signedIn?: boolean;
}

const invalidJson: Expected = { status: 400, code: "invalid_json" };
const notAnObject: Expected = { status: 400, code: "validation_error" };
const unsupported: Expected = { status: 415, code: "unsupported_media_type" };
const tooLarge: Expected = { status: 413, code: "payload_too_large" };
const wrongType = (field: string): Expected => ({ status: 400, code: "validation_error", fields: [field] });
const refused = (field: string): Expected => ({ status: 422, code: "validation_error", fields: [field] });
const FRESH_PASSWORD = "Fresh-Start-2026!";
const UNKNOWN_TOKEN = "A".repeat(43);

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
  "change-password": {
    path: PATHS.change,
    // The right current password and the same one as new: refused by the service, changes nothing
    // and does not count against the wrong-password limit.
    valid: () => ({ current_password: STRONG_PASSWORD, new_password: STRONG_PASSWORD }),
    reachesService: { status: 422, code: "validation_error", fields: ["new_password"] },
    fields: {
      current_password: { unicode: ["Пароль-неверный-7", { status: 422, code: "invalid_current_password", fields: ["current_password"] }] },
      new_password: { unicode: ["пароль", refused("new_password")] },
    },
    signedIn: true,
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
    { name: "an empty object", json: {}, expected: { status: 400, code: "validation_error", fields: all } },
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
      { name: `${field} missing`, json: omit(valid(), field), expected: wrongType(field) },
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
  return rows;
}

function omit(body: Record<string, unknown>, field: string): Record<string, unknown> {
  const copy = { ...body };
  delete copy[field];
  return copy;
}

async function send(request: APIRequestContext, endpoint: Endpoint, row: Row, cookie: string | undefined): Promise<ApiResult> {
  // Each request its own client address: the per-IP reset limit never masks what is tested.
  const ip = uniqueIp();
  if (row.node) {
    const response = await rawRequest({
      method: row.method ?? "POST",
      path: endpoint.path,
      headers: { host: `localhost:${E2E.appPort}`, "x-forwarded-for": ip, ...(cookie ? { cookie } : {}), ...row.node.headers },
      body: row.node.body,
    });
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      body = undefined;
    }
    const headers = Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k, String(v)]));
    return { status: response.status, headers, bytes: Buffer.from(response.body), text: response.body, body };
  }
  const options = { method: row.method, contentType: row.contentType, headers: { "x-forwarded-for": ip } };
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
    let cookie: string | undefined;
    if (endpoint.signedIn) {
      const user = await createUser({ password: STRONG_PASSWORD });
      await signIn(page, user);
      context = page.request;
      const session = (await page.context().cookies()).find((c) => c.name === "authjs.session-token");
      cookie = `${session?.name}=${session?.value}`;
    }
    for (const row of rowsFor(endpoint)) {
      await test.step(row.name, async () => check(await send(context, endpoint, row, cookie), endpoint, row));
    }

    await test.step("other methods answer 405 with Allow; OPTIONS lists the methods", async () => {
      for (const method of ["GET", "PUT", "PATCH", "DELETE", "HEAD"]) {
        const body = method === "GET" || method === "HEAD" ? {} : { json: endpoint.valid() };
        const result = await call(context, endpoint.path, { method, ...body });
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
