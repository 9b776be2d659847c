import { getDb } from "@/lib/db";
import { signOutSession } from "@/lib/auth/user-sessions";
import { requestContext } from "@/lib/client-ip";
import { requireBearer } from "../../_lib/bearer";
import { apiError, routeHandlers } from "../../_lib/http";

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async DELETE(request) {
    const auth = await requireBearer(request);
    if (!auth.ok) return auth.response;
    // The last path segment as sent, not decoded (a uuid has nothing to decode, and a malformed
    // escape must not throw): signOutSession refuses anything but a canonical uuid.
    const id = new URL(request.url).pathname.split("/").pop() ?? "";
    const ended = await signOutSession(await getDb(), { userId: auth.session.userId, sessionId: id, ...requestContext(request.headers) });
    if (!ended) return apiError(404, "not_found", "This account has no session with that id.");
    return new Response(null, { status: 204, headers: { "Cache-Control": "no-store" } });
  },
});
