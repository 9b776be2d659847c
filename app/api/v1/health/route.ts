import { connection } from "next/server";
import { checkDatabaseNow } from "@/lib/availability";
import { log } from "@/lib/log";
import { HealthOk, HealthUnavailable } from "../_lib/contract";
import { respond, routeHandlers } from "../_lib/http";

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers(
  {
    async GET() {
      await connection();
      // The same state every route answers from (lib/availability.ts), probed afresh and
      // updated: healthy exactly when the next request on this instance is served.
      const database = await checkDatabaseNow();
      if (database.up) return respond(200, HealthOk, { status: "ok", database: "ok" });
      log("warn", "health.database_error", {}, database.error);
      return respond(503, HealthUnavailable, { status: "error", database: "unavailable" });
    },
    // It asks the database itself, on every request.
  },
  { checksDatabase: false },
);
