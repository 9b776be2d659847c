import { env } from "@/lib/env";
import { safeEqual } from "@/lib/tokens";

/** Null when the request carries "Authorization: Bearer $CRON_SECRET"; otherwise the answer to give. */
export function refuseUnlessCron(request: Request): Response | null {
  const secret = env().CRON_SECRET;
  if (!secret) return Response.json({ error: { code: "not_found", message: "Not found." } }, { status: 404 });
  const presented = request.headers.get("authorization") ?? "";
  if (!safeEqual(presented, `Bearer ${secret}`)) {
    return Response.json({ error: { code: "unauthorized", message: "A valid cron secret is required." } }, { status: 401 });
  }
  return null;
}
