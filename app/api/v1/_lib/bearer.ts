// Bearer authentication for /api/v1 routes (RFC 6750): the route asks for the session, and a
// request without a working token gets 401 with the WWW-Authenticate header the RFC names.
import "server-only";
import { getDb } from "@/lib/db";
import { auth } from "@/lib/auth/config";
import { authenticateRequest, readBearerCredentials, type BearerAuthentication, type BearerSession } from "@/lib/auth/bearer";
import { apiError, refuseCrossSite } from "./http";

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

/** Who sent a request that a bearer token or the session cookie may authenticate; `bearer` is null for the cookie. */
export interface ApiCaller {
  userId: string;
  sessionId: string;
  bearer: BearerSession | null;
}

/**
 * The caller of a route that takes a bearer token or the session cookie, or the answer to give.
 * A bearer token wins over a cookie sent with it. No browser attaches an Authorization header on
 * its own, so a bearer request needs no cross-site check; a cookie request does.
 */
export async function requireCaller(request: Request): Promise<{ ok: true; caller: ApiCaller } | { ok: false; response: Response }> {
  if (readBearerCredentials(request.headers).present) {
    const authenticated = await requireBearer(request);
    if (!authenticated.ok) return authenticated;
    const { session } = authenticated;
    return { ok: true, caller: { userId: session.userId, sessionId: session.id, bearer: session } };
  }
  const refused = refuseCrossSite(request);
  if (refused) return { ok: false, response: refused };
  const session = await auth();
  if (!session?.user) {
    return {
      ok: false,
      response: apiError(401, "unauthenticated", "Sign in first.", { headers: { "WWW-Authenticate": 'Bearer realm="rekey"' } }),
    };
  }
  return { ok: true, caller: { userId: session.user.id, sessionId: session.sessionId, bearer: null } };
}
