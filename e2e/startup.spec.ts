import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./api/support/own-server";
import { expect, test } from "./support/fixtures";

/**
 * Runs `next start` on the built app with `env` and returns what it printed and its exit code;
 * stops it as soon as its output matches `readyWhen`.
 */
async function startWith(env: Record<string, string | undefined>, readyWhen?: RegExp): Promise<{ code: number | null; output: string }> {
  // A port of its own per call, from the system: these tests run in parallel, and a random
  // number could be one the system had just handed out to a connection (EADDRINUSE). The
  // system can still hand it out between freePort() and next start's bind: then again.
  for (let attempt = 1; ; attempt++) {
    const result = await startOn(String(await freePort()), env, readyWhen);
    if (!result.output.includes("EADDRINUSE") || attempt === 3) return result;
  }
}

function startOn(port: string, env: Record<string, string | undefined>, readyWhen?: RegExp): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("node_modules/.bin/next", ["start", "-p", port], {
      env: { PATH: process.env.PATH, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", ...env } as NodeJS.ProcessEnv,
    });
    let output = "";
    const collect = (c: Buffer) => {
      output += c;
      if (readyWhen?.test(output)) child.kill("SIGTERM");
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test.describe("production start-up refuses a bad configuration", () => {
  test("without AUTH_SECRET, naming the variable", async () => {
    const { code, output } = await startWith({ APP_URL: "https://rekey.example.com" });
    expect(code).not.toBe(0);
    expect(output).toContain("AUTH_SECRET");
    expect(output).not.toContain("APP_URL (");
  });

  test("without APP_URL, naming the variable", async () => {
    const { code, output } = await startWith({ AUTH_SECRET: "x".repeat(40) });
    expect(code).not.toBe(0);
    expect(output).toContain("APP_URL");
  });

  test("with a malformed value, naming the variable", async () => {
    const { code, output } = await startWith({ AUTH_SECRET: "x".repeat(40), APP_URL: "https://rekey.example.com", RESET_TOKEN_TTL_MINUTES: "soon" });
    expect(code).not.toBe(0);
    expect(output).toContain("RESET_TOKEN_TTL_MINUTES");
  });

  test("on the mail outbox or the embedded database unless chosen, and starts once both are chosen", async () => {
    const base = { AUTH_SECRET: "x".repeat(40), APP_URL: "https://rekey.example.com" };
    const refused = await startWith(base);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain("Refusing to run in production with a configuration that loses data");
    expect(refused.output).toContain("MAIL_TRANSPORT=outbox");
    expect(refused.output).toContain("ALLOW_EMBEDDED_DATABASE=1");

    // Both chosen: the configuration check passes and the server starts (it is killed after 30 s,
    // so the test stops it as soon as it says it is ready).
    const dataDir = await mkdtemp(path.join(tmpdir(), "rekey-startup-"));
    try {
      const started = await startWith({ ...base, DATA_DIR: dataDir, MAIL_TRANSPORT: "outbox", ALLOW_EMBEDDED_DATABASE: "1" }, /Ready in/);
      expect(started.output).toMatch(/Ready in/);
      expect(started.output).not.toContain("Refusing");
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test("with an absolute session lifetime shorter than the idle one, naming both", async () => {
    const { code, output } = await startWith({
      AUTH_SECRET: "x".repeat(40),
      APP_URL: "https://rekey.example.com",
      SESSION_MAX_AGE_DAYS: "30",
      SESSION_ABSOLUTE_MAX_AGE_DAYS: "14",
    });
    expect(code).not.toBe(0);
    expect(output).toContain("SESSION_ABSOLUTE_MAX_AGE_DAYS (14) must be at least SESSION_MAX_AGE_DAYS (30)");
  });
});
