import type { APIRequestContext } from "@playwright/test";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import { expect, uniqueIp, type Mailbox } from "../../support/fixtures";
import { E2E } from "../../support/settings";

export const PATHS = {
  forgot: "/api/v1/auth/forgot-password",
  verify: "/api/v1/auth/verify-reset-token",
  reset: "/api/v1/auth/reset-password",
  change: "/api/v1/auth/change-password",
  deviceCode: "/api/v1/auth/device/code",
  deviceToken: "/api/v1/auth/device/token",
  signIn: "/api/v1/auth/sign-in",
  signInSecondFactor: "/api/v1/auth/sign-in/second-factor",
  signOut: "/api/v1/auth/sign-out",
  register: "/api/v1/auth/register",
  me: "/api/v1/me",
  export: "/api/v1/me/export",
  changeEmail: "/api/v1/me/email",
  confirmEmailChange: "/api/v1/email-change/confirm",
  sessions: "/api/v1/sessions",
  session: "/api/v1/sessions/{id}",
  passkeys: "/api/v1/passkeys",
  passkey: "/api/v1/passkeys/{id}",
  health: "/api/v1/health",
  openapi: "/api/v1/openapi.json",
} as const;

export const MAX_BODY_BYTES = 16 * 1024;
export const FORGOT_ANSWER = "If an account exists for that email, a password reset link has been sent.";

export interface ApiResult {
  status: number;
  headers: Record<string, string>;
  bytes: Buffer;
  text: string;
  /** The parsed JSON body, or undefined when there is none or it is not JSON. */
  body: unknown;
}

export interface CallOptions {
  method?: string;
  /** Sent as JSON with Content-Type: application/json unless `contentType` says otherwise. */
  json?: unknown;
  /** Sent exactly as given. */
  raw?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

/** One API request through Playwright's request context (its cookies and extra headers apply). */
export async function call(request: APIRequestContext, path: string, options: CallOptions = {}): Promise<ApiResult> {
  const headers: Record<string, string> = { ...options.headers };
  // A Buffer, because Playwright JSON-encodes a string sent with a JSON Content-Type.
  let data: string | Buffer | undefined = typeof options.raw === "string" ? Buffer.from(options.raw) : options.raw;
  if ("json" in options) {
    data = JSON.stringify(options.json);
    headers["content-type"] = "application/json";
  }
  if (options.contentType !== undefined) headers["content-type"] = options.contentType;
  const response = await request.fetch(path, { method: options.method ?? "POST", headers, data, maxRedirects: 0, failOnStatusCode: false });
  const bytes = await response.body();
  const text = bytes.toString("utf8");
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status(), headers: response.headers(), bytes, text, body };
}

/** The error code of an error response (undefined for any other body). */
export function errorCode(result: ApiResult): string | undefined {
  return (result.body as { error?: { code?: string } } | undefined)?.error?.code;
}

export function errorFields(result: ApiResult): Record<string, string[]> | undefined {
  return (result.body as { error?: { fields?: Record<string, string[]> } } | undefined)?.error?.fields;
}

// --- The served OpenAPI document as the contract every response is checked against. ---

type JsonObject = Record<string, unknown>;
type Operation = { responses: Record<string, { $ref?: string; headers?: JsonObject; content?: JsonObject }> };
export type OpenApiDocument = { openapi: string; paths: Record<string, Record<string, Operation>>; components: JsonObject };

export const DOCUMENT_ID = "https://rekey.test/openapi.json";

interface Contract {
  doc: OpenApiDocument;
  ajv: Ajv2020;
  validators: Map<string, ValidateFunction>;
}

let contract: Promise<Contract> | undefined;

/** The document as the running app serves it (fetched once per worker). */
export function loadContract(): Promise<Contract> {
  contract ??= (async () => {
    const response = await fetch(`${E2E.appUrl}${PATHS.openapi}`);
    if (!response.ok) throw new Error(`GET ${PATHS.openapi} answered ${response.status}`);
    const doc = (await response.json()) as OpenApiDocument;
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    // Added whole under one $id, so the "#/components/..." references inside resolve.
    ajv.addSchema({ ...doc, $id: DOCUMENT_ID });
    return { doc, ajv, validators: new Map() };
  })();
  return contract;
}

const pointer = (...segments: string[]) => segments.map((s) => `/${s.replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");

/**
 * Asserts that `result` is a response the document lists for `method path`: its status is
 * documented, its body validates against that response's schema, and its documented headers
 * are present. Works for every endpoint, success and error alike.
 */
export async function expectContract(
  result: ApiResult,
  operation: { method: "get" | "post" | "delete"; path: string },
  options: { head?: boolean } = {},
): Promise<void> {
  const { doc, ajv, validators } = await loadContract();
  const documented = doc.paths[operation.path]?.[operation.method];
  expect(documented, `${operation.method.toUpperCase()} ${operation.path} is in the document`).toBeTruthy();
  const status = String(result.status);
  const spec = documented?.responses[status];
  expect(
    spec,
    `${status} is documented for ${operation.method.toUpperCase()} ${operation.path} (body: ${result.text.slice(0, 300)})`,
  ).toBeTruthy();
  if (!spec) return;
  for (const header of Object.keys(spec.headers ?? {})) {
    expect(result.headers[header.toLowerCase()], `header ${header} on ${status}`).toBeTruthy();
  }
  if (result.headers["retry-after"] !== undefined) expect(result.headers["retry-after"]).toMatch(/^[1-9]\d*$/);
  if (options.head) return;
  expect(result.headers["content-type"]).toMatch(/^application\/json/);
  const at = `${DOCUMENT_ID}#${pointer("paths", operation.path, operation.method, "responses", status, "content", "application/json", "schema")}`;
  let validate = validators.get(at);
  if (!validate) {
    validate = ajv.compile({ $ref: at });
    validators.set(at, validate);
  }
  const valid = validate(result.body);
  expect(valid, `${status} body ${result.text.slice(0, 300)} against the document: ${JSON.stringify(validate.errors)}`).toBe(true);
}

/** Validates `body` against a named component schema (e.g. "Error"). */
export async function expectComponent(body: unknown, name: string): Promise<void> {
  const { ajv } = await loadContract();
  const validate = ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer("components", "schemas", name)}` });
  expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
}

// --- Flows the specs share. ---

/** Asks for a reset through the API and returns the token from the email that arrives. */
export async function resetTokenFor(request: APIRequestContext, mailbox: Mailbox, email: string, count = 1): Promise<string> {
  const answer = await call(request, PATHS.forgot, { json: { email }, headers: { "x-forwarded-for": uniqueIp() } });
  expect(answer.status).toBe(202);
  return mailbox.resetToken(email, count);
}

/** Signs `user` in over the API (as an app named `clientName`) and returns the bearer token. */
export async function bearerTokenFor(
  request: APIRequestContext,
  user: { email: string; password: string },
  clientName = "e2e app",
): Promise<string> {
  const answer = await call(request, PATHS.signIn, {
    json: { email: user.email, password: user.password, client_name: clientName },
    headers: { "x-forwarded-for": uniqueIp() },
  });
  expect(answer.status, answer.text).toBe(200);
  return (answer.body as { access_token: string }).access_token;
}
