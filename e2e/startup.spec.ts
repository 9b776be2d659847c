import { spawn } from "node:child_process";
import { expect, test } from "./support/fixtures";

/** Runs `next start` on the built app with `env` and returns what it printed and its exit code. */
function startWith(env: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // A port of its own per call: these tests run in parallel.
    const port = String(20_000 + Math.floor(Math.random() * 20_000));
    const child = spawn("node_modules/.bin/next", ["start", "-p", port], {
      env: { PATH: process.env.PATH, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", ...env } as NodeJS.ProcessEnv,
    });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
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
