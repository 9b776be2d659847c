// Bearer authentication for /api/v1 routes (RFC 6750): the route asks for the session, and a
// request without a working token gets 401 with the WWW-Authenticate header the RFC names.
import "server-only";
import { getDb } from "@/lib/db";
import { authenticateRequest, type BearerAuthentication, type BearerSession } from "@/lib/auth/bearer";
import { apiError } from "./http";

/** 401 for a request that did not authenticate: `Bearer` alone without credentials (RFC 6750 3.1), else invalid_token. */
export function bearerRefused(code: Extract<BearerAuthentication, { ok: false }>["code"]): Response {
  if (code === "NO_CREDENTIALS") {
    return apiError(401, "invalid_token", "Send a bearer token: Authorization: Bearer <token>.", {
      headers: { "WWW-Authenticate": 'Bearer realm="rekey"' },
    });
  }
  return apiError(401, "invalid_token", "The bearer token is malformed, unknown, expired or ended. Sign in again.", {
    headers: { "WWW-Authenticate": 'Bearer realm="rekey", error="invalid_token"' },
  });
}

/** The live bearer session of `request`, or the 401 to answer. */
export async function requireBearer(request: Request): Promise<{ ok: true; session: BearerSession } | { ok: false; response: Response }> {
  const result = await authenticateRequest(await getDb(), request.headers);
  return result.ok ? result : { ok: false, response: bearerRefused(result.code) };
}
