// The production server the benchmarks measure, started as the e2e suite starts it
// (e2e/support/server.mjs: PostgreSQL + the Resend stand-in), stopped when the bench exits.
import { spawn } from "node:child_process";

/** Starts the stand-in and the server on `port` with `env`; returns how to wait for and stop them. */
export function startBenchServer(port, env, { serverOutput = "inherit" } = {}) {
  const standIn = spawn("node", ["e2e/support/resend-stand-in.mjs"], {
    env: { ...env, RESEND_STAND_IN_PORT: String(port + 1) },
    stdio: "ignore",
  });
  const server = spawn("node", ["e2e/support/server.mjs"], { env, stdio: ["ignore", serverOutput, "inherit"] });
  const stop = () => {
    server.kill("SIGTERM");
    standIn.kill("SIGTERM");
  };
  process.on("exit", stop);

  async function waitForServer() {
    for (let i = 0; i < 600; i++) {
      try {
        if ((await fetch(`http://localhost:${port}/login`)).ok) return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error("server did not start");
  }
  return { stop, waitForServer };
}
