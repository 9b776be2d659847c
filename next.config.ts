import type { NextConfig } from "next";
import { PHASE_DEVELOPMENT_SERVER, PHASE_PRODUCTION_BUILD, PHASE_PRODUCTION_SERVER } from "next/constants";
import { EnvError, env } from "./lib/env";
import { staticSecurityHeaders } from "./lib/security-headers";

export default function config(phase: string): NextConfig {
  // A bad or missing variable stops `next dev`, `next build` and `next start` right here,
  // with a message naming it, instead of failing on the first request.
  if ([PHASE_DEVELOPMENT_SERVER, PHASE_PRODUCTION_BUILD, PHASE_PRODUCTION_SERVER].includes(phase)) {
    try {
      env();
    } catch (error) {
      if (error instanceof EnvError) {
        console.error(`\n${error.message}\n\nSee .env.example for every variable.\n`);
        process.exit(1);
      }
      throw error;
    }
  }
  return {
    reactStrictMode: true,
    poweredByHeader: false,
    // Development-only routes (app/dev/**/page.dev.tsx) exist only under `next dev`; the
    // benchmark's own routes (app/**/route.bench.ts) only in the build `npm run bench` makes.
    pageExtensions: [
      ...(phase === PHASE_DEVELOPMENT_SERVER ? ["dev.tsx"] : []),
      ...(process.env.REKEY_BENCH_ROUTES === "1" ? ["bench.ts"] : []),
      "tsx",
      "ts",
    ],
    // Bundled, PGlite builds but every query fails at run time.
    serverExternalPackages: ["@electric-sql/pglite"],
    // The migrations are read from disk when the database opens.
    outputFileTracingIncludes: { "/**": ["./db/migrations/**/*"] },
    async headers() {
      return [{ source: "/:path*", headers: staticSecurityHeaders() }];
    },
  };
}
