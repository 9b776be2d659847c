// The caller of an account endpoint that accepts a bearer token or the session cookie.
import "server-only";
import { auth } from "@/lib/auth/config";
import { readBearerCredentials, type BearerSession } from "@/lib/auth/bearer";
import { requireBearer } from "./bearer";
import { apiError, refuseCrossSite } from "./http";

export type AccountCaller = { userId: string; sessionId: string; bearer: BearerSession | null };

/**
 * The signed-in caller, or the response to answer: a bearer token wins over a cookie sent with
 * it (no browser attaches an Authorization header on its own, so it needs no cross-site check);
 * a cookie request from another site is refused.
 */
export async function requireAccountCaller(
  request: Request,
): Promise<{ ok: true; caller: AccountCaller } | { ok: false; response: Response }> {
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
