import { env } from "@/lib/env";
import { notFoundHandlers } from "../_lib/http";

type Handlers = Record<"GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS", (request: Request) => Promise<Response>>;

/**
 * A benchmark route's handlers, served only by a server started with REKEY_BENCH_ROUTES=1: a
 * bench build run anywhere else must not answer them (404). Decided per request from the
 * start-time environment, not by the build alone. Only the `route.bench.ts` files, which only a
 * build made with REKEY_BENCH_ROUTES=1 compiles (next.config.ts), import this.
 */
export function benchOnly(handlers: Handlers): Handlers {
  const absent = notFoundHandlers() as Handlers;
  const served = (): Handlers => (env().REKEY_BENCH_ROUTES ? handlers : absent);
  return {
    GET: (request) => served().GET(request),
    HEAD: (request) => served().HEAD(request),
    POST: (request) => served().POST(request),
    PUT: (request) => served().PUT(request),
    DELETE: (request) => served().DELETE(request),
    PATCH: (request) => served().PATCH(request),
    OPTIONS: (request) => served().OPTIONS(request),
  };
}
