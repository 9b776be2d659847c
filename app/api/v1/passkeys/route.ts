import { getDb } from "@/lib/db";
import { listPasskeys } from "@/lib/second-factor/passkeys";
import { requireCaller } from "../_lib/bearer";
import { PasskeysResponse } from "../_lib/contract";
import { respond, routeHandlers } from "../_lib/http";

const deviceType = (value: string | null): "singleDevice" | "multiDevice" | null =>
  value === "singleDevice" || value === "multiDevice" ? value : null;

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async GET(request) {
    const authenticated = await requireCaller(request);
    if (!authenticated.ok) return authenticated.response;
    const passkeys = await listPasskeys(await getDb(), authenticated.caller.userId);
    return respond(200, PasskeysResponse, {
      passkeys: passkeys.map((p) => ({
        id: p.id,
        name: p.name,
        created_at: p.createdAt.toISOString(),
        last_used_at: p.lastUsedAt?.toISOString() ?? null,
        device_type: deviceType(p.deviceType),
        backed_up: p.backedUp,
      })),
    });
  },
});
