import { getDb } from "@/lib/db";
import { env } from "@/lib/env";
import { renderMetrics } from "@/lib/metrics";
import { safeEqual } from "@/lib/tokens";

export const dynamic = "force-dynamic";

// Prometheus scrape: GET with "Authorization: Bearer $METRICS_TOKEN". Unset, the endpoint
// does not exist (404), so a deployment exposes nothing it did not choose to.
export async function GET(request: Request): Promise<Response> {
  const token = env().METRICS_TOKEN;
  if (!token) return Response.json({ error: { code: "not_found", message: "Not found." } }, { status: 404 });
  if (!safeEqual(request.headers.get("authorization") ?? "", `Bearer ${token}`)) {
    return Response.json(
      { error: { code: "unauthorized", message: "A valid metrics token is required." } },
      { status: 401, headers: { "WWW-Authenticate": "Bearer" } },
    );
  }
  const { contentType, body } = await renderMetrics(await getDb());
  return new Response(body, { headers: { "Content-Type": contentType, "Cache-Control": "no-store" } });
}
