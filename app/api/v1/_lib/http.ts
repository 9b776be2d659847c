// The HTTP plumbing every /api/v1 route shares: reading a JSON body within limits, the one
// error shape, the method guard, the cross-site check. Route files stay a few lines each.
import "server-only";
import { unstable_rethrow } from "next/navigation";
import type { z } from "zod";
import { RETRY_AFTER_SECONDS, isDatabaseAvailable, noteDatabaseError } from "@/lib/availability";
import { env } from "@/lib/env";
import { log } from "@/lib/log";
import { MAX_BODY_BYTES, type ErrorCode } from "./contract";

export type FieldErrors = Record<string, string[]>;
export type Handler = (request: Request) => Promise<Response>;
export type Parsed<T> = { ok: true; data: T } | { ok: false; response: Response };

/** A JSON response; nothing the API answers may be cached. */
export function json(status: number, body: unknown, headers?: HeadersInit): Response {
  const all = new Headers(headers);
  all.set("Cache-Control", "no-store");
  return Response.json(body, { status, headers: all });
}

/** A body checked against its response schema at compile time. */
export function respond<S extends z.ZodType>(status: number, _schema: S, body: z.input<S>, headers?: HeadersInit): Response {
  return json(status, body, headers);
}

/** The one error shape: {"error": {"code", "message", "fields"?}}. */
export function apiError(
  status: number,
  code: ErrorCode,
  message: string,
  options: { fields?: FieldErrors; headers?: HeadersInit } = {},
): Response {
  return json(status, { error: { code, message, ...(options.fields ? { fields: options.fields } : {}) } }, options.headers);
}

export function rateLimited(retryAfterSeconds: number, message: string): Response {
  return apiError(429, "rate_limited", message, { headers: { "Retry-After": String(retryAfterSeconds) } });
}

/** Reads the body as JSON (within the size cap) and parses it with `schema`. */
export async function parseJsonBody<S extends z.ZodType>(request: Request, schema: S): Promise<Parsed<z.output<S>>> {
  const body = await readJson(request);
  if (!body.ok) return body;
  const parsed = schema.safeParse(body.data);
  if (parsed.success) return { ok: true, data: parsed.data };
  return { ok: false, response: validationError(parsed.error) };
}

export function isJsonContentType(header: string | null): boolean {
  if (!header) return false;
  const [type, ...parameters] = header.split(";").map((part) => part.trim().toLowerCase());
  if (type !== "application/json") return false;
  const charset = parameters
    .find((p) => p.startsWith("charset="))
    ?.slice("charset=".length)
    .replace(/"/g, "");
  return charset === undefined || charset === "utf-8" || charset === "utf8";
}

const fail = (status: number, code: ErrorCode, message: string): { ok: false; response: Response } => ({
  ok: false,
  response: apiError(status, code, message),
});

async function readJson(request: Request): Promise<Parsed<unknown>> {
  if (!isJsonContentType(request.headers.get("content-type"))) {
    return fail(415, "unsupported_media_type", "Send the body as JSON, with Content-Type: application/json.");
  }
  const tooLarge = () => fail(413, "payload_too_large", `The request body must be at most ${MAX_BODY_BYTES} bytes.`);
  // Content-Length only allows an early answer; the cap itself is enforced while reading.
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) return tooLarge();

  let bytes: Uint8Array | null;
  try {
    bytes = await readCapped(request.body, MAX_BODY_BYTES);
  } catch {
    return fail(400, "invalid_json", "The request body could not be read.");
  }
  if (bytes === null) return tooLarge();
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return { ok: true, data: JSON.parse(text) as unknown };
  } catch {
    return fail(400, "invalid_json", "The request body is not valid JSON.");
  }
}

/** The whole stream, or null as soon as it passes `limit` bytes. */
export async function readCapped(stream: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array | null> {
  if (!stream) return new Uint8Array();
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * A failed parse: 400 when the body's structure is wrong (not an object, a field missing or of
 * the wrong type), 422 when every field is there with the right type but a value is refused.
 */
export function validationError(error: z.ZodError): Response {
  const fields: FieldErrors = {};
  let structural = false;
  for (const issue of error.issues) {
    if (issue.path.length === 0) {
      return apiError(400, "validation_error", "The request body must be a JSON object.");
    }
    if (issue.code === "invalid_type") structural = true;
    const messages = (fields[issue.path.map(String).join(".")] ??= []);
    if (!messages.includes(issue.message)) messages.push(issue.message);
  }
  return structural
    ? apiError(400, "validation_error", "Some fields are missing or have the wrong type.", { fields })
    : apiError(422, "validation_error", "Some fields are not valid.", { fields });
}

/** The field errors a service returned for the new password, in the validation_error shape. */
export function passwordRejected(passwordErrors: string[]): Response {
  return apiError(422, "validation_error", "Choose a different new password.", { fields: { new_password: passwordErrors } });
}

/**
 * Refuses a request another site made a browser send: an Origin other than APP_URL's, or
 * Sec-Fetch-Site: cross-site. Clients that are not browsers send neither header.
 */
export function refuseCrossSite(request: Request): Response | null {
  const origin = request.headers.get("origin");
  const crossOrigin = origin !== null && origin !== new URL(env().APP_URL).origin;
  if (crossOrigin || request.headers.get("sec-fetch-site") === "cross-site") {
    return apiError(403, "cross_site_request", "Cross-site requests are not allowed.");
  }
  return null;
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] as const;
type Method = (typeof METHODS)[number];

/** 503 service_unavailable with Retry-After: the database cannot serve this request now. */
export function serviceUnavailable(): Response {
  return apiError(503, "service_unavailable", "The service is temporarily unavailable. Try again in a moment.", {
    headers: { "Retry-After": String(RETRY_AFTER_SECONDS) },
  });
}

// Any error a handler did not expect becomes a 500 in the error shape: no message or stack
// reaches the client; a database outage becomes a 503. Next's own control-flow errors pass.
// While the database is known to be down (lib/availability.ts, as proxy.ts asks for pages),
// `checksDatabase` answers 503 before the handler runs.
function guarded(handler: Handler, checksDatabase: boolean): Handler {
  return async (request) => {
    try {
      if (checksDatabase && !(await isDatabaseAvailable())) return serviceUnavailable();
      return await handler(request);
    } catch (error) {
      unstable_rethrow(error);
      if (noteDatabaseError(error)) {
        // Without the error's message: drizzle puts the query's parameters in it.
        log("warn", "api.database_unavailable", { method: request.method, path: new URL(request.url).pathname });
        return serviceUnavailable();
      }
      log("error", "api.unhandled_error", { method: request.method, path: new URL(request.url).pathname }, error);
      return apiError(500, "internal_error", "Something went wrong on our side. Try again later.");
    }
  };
}

/**
 * Handlers for every method Next routes: the given ones (GET also answers HEAD), OPTIONS with
 * the Allow list, and 405 in the error shape for the rest. The given ones answer 503 at once
 * while the database is known to be down, unless `checksDatabase` is false (a route that
 * needs no database, or reports on it itself).
 */
export function routeHandlers(
  implemented: { GET?: Handler; POST?: Handler; DELETE?: Handler },
  { checksDatabase = true } = {},
): Record<Method, Handler> {
  const own: Partial<Record<Method, Handler>> = { ...implemented };
  if (own.GET) own.HEAD = own.GET;
  const allow = [...METHODS.filter((m) => own[m]), "OPTIONS"].join(", ");
  const notAllowed: Handler = async (request) =>
    apiError(405, "method_not_allowed", `${request.method} is not allowed here. Allowed: ${allow}.`, { headers: { Allow: allow } });
  const options: Handler = async () => new Response(null, { status: 204, headers: { Allow: allow } });
  return Object.fromEntries(
    METHODS.map((method) => [method, method === "OPTIONS" ? options : own[method] ? guarded(own[method], checksDatabase) : notAllowed]),
  ) as Record<Method, Handler>;
}

/** Every method answers 404 in the error shape (unknown paths under /api/v1). */
export function notFoundHandlers(): Record<Method, Handler> {
  const notFound: Handler = async () => apiError(404, "not_found", "There is no such endpoint. See /api/v1/openapi.json.");
  return Object.fromEntries(METHODS.map((method) => [method, notFound])) as Record<Method, Handler>;
}
