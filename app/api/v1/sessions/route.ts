import { getDb } from "@/lib/db";
import { listUserSessions } from "@/lib/auth/user-sessions";
import { requireBearer } from "../_lib/bearer";
import { SessionsResponse } from "../_lib/contract";
import { respond, routeHandlers } from "../_lib/http";

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async GET(request) {
    const auth = await requireBearer(request);
    if (!auth.ok) return auth.response;
    const list = await listUserSessions(await getDb(), auth.session.userId);
    return respond(200, SessionsResponse, {
      sessions: list.map((s) => ({
        id: s.id,
        kind: s.kind,
        client_name: s.clientName,
        current: s.id === auth.session.id,
        created_at: s.createdAt.toISOString(),
        last_seen_at: s.lastSeenAt.toISOString(),
        expires_at: s.expires.toISOString(),
        ip: s.ip,
        user_agent: s.userAgent,
        second_factor: s.secondFactorAt !== null,
      })),
    });
  },
});
