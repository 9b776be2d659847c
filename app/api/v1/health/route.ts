import { sql } from "drizzle-orm";
import { connection } from "next/server";
import { getDb } from "@/lib/db";
import { log } from "@/lib/log";
import { HealthOk, HealthUnavailable } from "../_lib/contract";
import { respond, routeHandlers } from "../_lib/http";

const DATABASE_TIMEOUT_MS = 2_000;

/** True when the database answers `select 1` in time (opening it included). */
async function databaseAnswers(): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), DATABASE_TIMEOUT_MS);
  });
  const probe = (async () => {
    await (await getDb()).execute(sql`select 1`);
    return true;
  })().catch((error: unknown) => {
    log("warn", "health.database_error", {}, error);
    return false;
  });
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers(
  {
    async GET() {
      await connection();
      if (await databaseAnswers()) return respond(200, HealthOk, { status: "ok", database: "ok" });
      return respond(503, HealthUnavailable, { status: "error", database: "unavailable" });
    },
    // It asks the database itself, on every request.
  },
  { checksDatabase: false },
);
