import { getDb } from "@/lib/db";
import { drainAllJobs } from "@/lib/job-definitions";
import { log } from "@/lib/log";
import { refuseUnlessCron } from "../_lib/authorize";

// On serverless there is no timer between requests: Vercel Cron calls this every minute and
// it runs due work (retries, work whose instance died) until none is left or time runs short.
export const maxDuration = 60;
const BUDGET_MS = 45_000;

export async function GET(request: Request): Promise<Response> {
  const refused = refuseUnlessCron(request);
  if (refused) return refused;
  const ran = await drainAllJobs(await getDb(), { deadline: Date.now() + BUDGET_MS });
  log("info", "maintenance.drain", { ran });
  return Response.json({ ran }, { headers: { "Cache-Control": "no-store" } });
}
