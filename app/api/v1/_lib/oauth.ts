// The device flow's endpoints speak OAuth 2.0 (RFC 8628 on RFC 6749): a client library sends
// application/x-www-form-urlencoded and reads errors as {"error", "error_description"} (RFC 6749
// §5.2), not the rest of the API's {"error": {"code", "message"}}. JSON bodies are accepted too.
import "server-only";
import type { z } from "zod";
import { MAX_BODY_BYTES, type OAuthErrorCode } from "./contract";
import { isJsonContentType, json, readCapped, type Parsed } from "./http";

/** An OAuth error answer (RFC 6749 §5.2); never cached. */
export function oauthError(status: number, error: OAuthErrorCode, description: string, headers?: HeadersInit): Response {
  return json(status, { error, error_description: description }, headers);
}

const invalid = (status: number, description: string): { ok: false; response: Response } => ({
  ok: false,
  response: oauthError(status, "invalid_request", description),
});

function isFormContentType(header: string | null): boolean {
  const [type, ...parameters] = (header ?? "").split(";").map((part) => part.trim().toLowerCase());
  if (type !== "application/x-www-form-urlencoded") return false;
  const charset = parameters.find((p) => p.startsWith("charset="))?.slice("charset=".length);
  return charset === undefined || charset === "utf-8" || charset === "utf8";
}

/**
 * Reads a form-encoded or JSON body (within the size cap) and parses it with `schema`. Refusals
 * are invalid_request: a repeated form parameter too (RFC 6749 §3.2), and `describe` words a
 * field problem for the `error_description`.
 */
export async function parseOAuthBody<S extends z.ZodType>(request: Request, schema: S): Promise<Parsed<z.output<S>>> {
  const contentType = request.headers.get("content-type");
  const form = isFormContentType(contentType);
  if (!form && !isJsonContentType(contentType)) {
    return invalid(415, "Send the body as application/x-www-form-urlencoded or application/json.");
  }
  if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY_BYTES)
    return invalid(413, `The body must be at most ${MAX_BODY_BYTES} bytes.`);
  let bytes: Uint8Array | null;
  try {
    bytes = await readCapped(request.body, MAX_BODY_BYTES);
  } catch {
    return invalid(400, "The request body could not be read.");
  }
  if (bytes === null) return invalid(413, `The body must be at most ${MAX_BODY_BYTES} bytes.`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return invalid(400, "The request body is not UTF-8.");
  }
  let data: unknown;
  if (form) {
    const params = new URLSearchParams(text);
    const names = [...params.keys()];
    const repeated = names.find((name, i) => names.indexOf(name) !== i);
    if (repeated) return invalid(400, `The parameter ${repeated} is repeated.`);
    data = Object.fromEntries(params);
  } else {
    try {
      data = JSON.parse(text);
    } catch {
      return invalid(400, "The request body is not valid JSON.");
    }
  }
  const parsed = schema.safeParse(data);
  if (parsed.success) return { ok: true, data: parsed.data };
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join(".");
  return invalid(400, field ? `${field}: ${issue!.message}` : "The request body must be a JSON object or a form.");
}
