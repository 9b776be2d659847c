import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { E2E } from "../../support/settings";

export interface OwnServer {
  url: string;
  port: number;
  /** Everything the server printed so far. */
  output(): string;
  stop(): Promise<void>;
  /** Sends `signal` to the server's process group; resolves with the time it exited. */
  kill(signal: NodeJS.Signals): Promise<number>;
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Starts the already-built app (`next start`) on a free port with `env` on top of a minimal
 * production environment, and waits until it answers. Its own process group, so stop() ends
 * next-server too.
 */
export async function startOwnServer(env: Record<string, string>, options: { readyTimeoutMs?: number } = {}): Promise<OwnServer> {
  // Every instance polls its database for due jobs: on the run's database it would take the
  // shared server's (reset emails sent to its own outbox, under its own APP_URL and secret),
  // and a test in the other worker would wait for an email that never comes.
  if (env.DATABASE_URL === E2E.databaseUrl)
    throw new Error("startOwnServer: give the server a database of its own (freshDatabase), not the run's");
  // freePort() closes its probe before next start binds: in between, any connection this
  // machine opens may be given that port. Then start again on another.
  for (let attempt = 1; ; attempt++) {
    const started = await startOn(await freePort(), env, options.readyTimeoutMs ?? 30_000);
    if (started !== "port taken") return started;
    if (attempt === 3) throw new Error("next start found its port taken three times");
  }
}

async function startOn(port: number, env: Record<string, string>, readyTimeoutMs: number): Promise<OwnServer | "port taken"> {
  const url = `http://localhost:${port}`;
  const child = spawn("node_modules/.bin/next", ["start", "-p", String(port)], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      APP_URL: url,
      AUTH_SECRET: randomBytes(30).toString("base64url"),
      LOG_LEVEL: "warn",
      ...env,
    } as NodeJS.ProcessEnv,
  });
  let output = "";
  child.stdout?.on("data", (c) => (output += c));
  child.stderr?.on("data", (c) => (output += c));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const pid = child.pid;
    try {
      process.kill(-pid, "SIGTERM");
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, 10_000);
    await exited;
    clearTimeout(timer);
  };

  // The OpenAPI document needs no database: it answers as soon as the server is up.
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      if (output.includes("EADDRINUSE")) return "port taken";
      throw new Error(`next start exited with ${child.exitCode}:\n${output}`);
    }
    try {
      const response = await fetch(`${url}/api/v1/openapi.json`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`next start on ${port} did not answer in time:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(-child.pid, signal);
    await exited;
    return Date.now();
  };
  return { url, port, output: () => output, stop, kill };
}
