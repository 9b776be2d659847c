import { getDb } from "@/lib/db";
import { deleteSessionByToken } from "@/lib/auth/sessions";
import { requireBearer } from "../../_lib/bearer";
import { routeHandlers } from "../../_lib/http";

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async POST(request) {
    const auth = await requireBearer(request);
    if (!auth.ok) return auth.response;
    await deleteSessionByToken(await getDb(), auth.session.token);
    return new Response(null, { status: 204, headers: { "Cache-Control": "no-store" } });
  },
});
