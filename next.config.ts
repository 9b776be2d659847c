import type { NextConfig } from "next";
import { PHASE_DEVELOPMENT_SERVER, PHASE_PRODUCTION_SERVER } from "next/constants";
import { buildEnv, env, exitOnInvalidEnv } from "./lib/env";
import { staticSecurityHeaders } from "./lib/security-headers";

export default function config(phase: string): NextConfig {
  // A bad or missing variable stops `next dev` and `next start` right here, with a message
  // naming it, before any page is served (Next has already opened its port: a request in that
  // instant gets its plain 500). Never in `next build`: one build (one container
  // image) serves every environment, each configured when its server starts. Standalone
  // output's server.js does not run this file; instrumentation.ts checks there.
  if (phase === PHASE_DEVELOPMENT_SERVER || phase === PHASE_PRODUCTION_SERVER) exitOnInvalidEnv(env);
  // Only switches about what gets built are read in every phase, `next build` included.
  const build = exitOnInvalidEnv(buildEnv);
  return {
    reactStrictMode: true,
    // NEXT_OUTPUT=standalone for the container image (docs/operations-container.md). Not the
    // default: `next start`, which the e2e suite and the README's deploy run, does not support
    // standalone output.
    ...(build.NEXT_OUTPUT === "standalone" ? { output: "standalone" as const } : {}),
    poweredByHeader: false,
    // Development-only routes (app/dev/**/page.dev.tsx) exist only under `next dev`; the
    // benchmark's own routes (app/**/route.bench.ts) only in the build `npm run bench` makes.
    pageExtensions: [
      ...(phase === PHASE_DEVELOPMENT_SERVER ? ["dev.tsx"] : []),
      ...(build.REKEY_BENCH_ROUTES ? ["bench.ts"] : []),
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
