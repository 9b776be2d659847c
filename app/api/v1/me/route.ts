import { getDb } from "@/lib/db";
import { accountSummary } from "@/lib/auth/user-sessions";
import { bearerRefused, requireBearer } from "../_lib/bearer";
import { MeResponse } from "../_lib/contract";
import { respond, routeHandlers } from "../_lib/http";

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async GET(request) {
    const auth = await requireBearer(request);
    if (!auth.ok) return auth.response;
    const me = await accountSummary(await getDb(), auth.session.userId);
    // Deleted between the two reads: its sessions went with it.
    if (!me) return bearerRefused("INVALID_TOKEN");
    return respond(200, MeResponse, {
      id: me.id,
      email: me.email,
      email_verified: me.emailVerified,
      two_factor_enabled: me.twoFactorEnabled,
      created_at: me.createdAt.toISOString(),
    });
  },
});
