// Runs once when a server instance starts: open the database and apply pending migrations
// now, not on the first request, so the instance is ready (or says why not) at once.
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  // next.config.ts already stopped `next dev` and `next start` on a bad environment; standalone
  // output's server.js never runs it, so this is where that server stops, before serving.
  const { env, exitOnInvalidEnv } = await import("./lib/env");
  const config = exitOnInvalidEnv(env);
  // Tracing is opt-in: with no OTLP endpoint no SDK is registered and every span is a no-op.
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT) {
    const { registerOTel } = await import("@vercel/otel");
    registerOTel({ serviceName: "rekey" });
  }
  const { getDatabase } = await import("./lib/db");
  try {
    const { driver } = await getDatabase();
    console.log(JSON.stringify({ level: "info", event: "database.ready", driver }));
  } catch (error) {
    // The instance still starts; requests retry the connection and /api/v1/health reports it.
    console.error(JSON.stringify({ level: "error", event: "database.unavailable", error: String(error) }));
  }
  // Deferred work left by a dead instance, or due for a retry, runs here without a request.
  const { startJobs } = await import("./lib/job-definitions");
  startJobs();
}

// A page that met a database outage mid-render could only answer 500; remembering the outage
// here makes proxy.ts answer the requests after it 503 at once (lib/availability.ts).
export async function onRequestError(error: unknown): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { noteDatabaseError } = await import("./lib/availability");
  noteDatabaseError(error);
}
