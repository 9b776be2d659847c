import { getDb } from "@/lib/db";
import { env } from "@/lib/env";
import { log } from "@/lib/log";
import { cleanUpExpiredRecords } from "@/lib/maintenance";
import { safeEqual } from "@/lib/tokens";

// Scheduled maintenance (e.g. Vercel Cron, hourly): GET with "Authorization: Bearer $CRON_SECRET".
export async function GET(request: Request): Promise<Response> {
  const secret = env().CRON_SECRET;
  if (!secret) return Response.json({ error: { code: "not_found", message: "Not found." } }, { status: 404 });
  const presented = request.headers.get("authorization") ?? "";
  if (!safeEqual(presented, `Bearer ${secret}`)) {
    return Response.json({ error: { code: "unauthorized", message: "A valid cron secret is required." } }, { status: 401 });
  }
  const deleted = await cleanUpExpiredRecords(await getDb());
  log("info", "maintenance.cleanup", { ...deleted });
  return Response.json({ deleted }, { headers: { "Cache-Control": "no-store" } });
}
