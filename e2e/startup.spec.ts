import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, startOwnServer } from "./api/support/own-server";
import { expect, test } from "./support/fixtures";
import { E2E } from "./support/settings";

/** What a production server needs and a build must not: e2e/support/server.mjs gives them to `next start` only. */
const START_ONLY = ["APP_URL", "AUTH_SECRET", "DATABASE_URL", "RESEND_API_KEY"];

/**
 * Runs `next start` on the built app with `env` and returns what it printed and its exit code
 * (null if it was still running after 30 s and had to be killed).
 */
async function startWith(env: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  // A port of its own per call, from the system: these tests run in parallel, and a random
  // number could be one the system had just handed out to a connection (EADDRINUSE). The
  // system can still hand it out between freePort() and next start's bind: then again.
  for (let attempt = 1; ; attempt++) {
    const result = await startOn(String(await freePort()), env);
    if (!result.output.includes("EADDRINUSE") || attempt === 3) return result;
  }
}

function startOn(port: string, env: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("node_modules/.bin/next", ["start", "-p", port], {
      env: { PATH: process.env.PATH, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", ...env } as NodeJS.ProcessEnv,
    });
    let output = "";
    const collect = (c: Buffer) => {
      output += c;
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

test.describe("one build, configured at start", () => {
  test("the suite's own build was made without APP_URL, AUTH_SECRET, DATABASE_URL or RESEND_API_KEY, and serves once started with them", async ({
    request,
  }) => {
    const served = (await readFile(".next/BUILD_ID", "utf8")).trim();
    const record = await readFile(E2E.buildRecord, "utf8")
      .then((text) => JSON.parse(text) as { buildId: string; variables: string[] })
      .catch(() => undefined);
    // Only a reused build (E2E_SKIP_BUILD=1) made some other way, e.g. by `npm run build`, is
    // unknown; every build of the suite's own is checked.
    test.skip(process.env.E2E_SKIP_BUILD === "1" && record?.buildId !== served, "the reused build was not made by e2e/support/server.mjs");
    expect(record?.buildId, `${E2E.buildRecord} describes the build being served`).toBe(served);
    // The record is the build's real environment (names only), not an empty list.
    expect(record?.variables).toEqual(expect.arrayContaining(["PATH", "NEXT_TELEMETRY_DISABLED"]));
    for (const name of START_ONLY) expect(record?.variables, `${name} reached next build`).not.toContain(name);

    // The suite's server runs that very build, given the variables at start.
    expect((await request.get("/login")).status()).toBe(200);
  });
});

// Each test below starts the suite's own build, made without any of these variables (above):
// every refusal happens at start.
test.describe("production start-up refuses a bad configuration", () => {
  test("without AUTH_SECRET, naming the variable", async () => {
    const { code, output } = await startWith({ APP_URL: "https://rekey.example.com" });
    expect(code).toBe(1);
    expect(output).toMatch(/^\s+AUTH_SECRET \(generate one/m);
    expect(output).not.toContain("APP_URL (");
  });

  test("without APP_URL, naming the variable", async () => {
    const { code, output } = await startWith({ AUTH_SECRET: "x".repeat(40) });
    expect(code).toBe(1);
    expect(output).toContain("APP_URL");
  });

  test("with a malformed value, naming the variable", async () => {
    const { code, output } = await startWith({
      AUTH_SECRET: "x".repeat(40),
      APP_URL: "https://rekey.example.com",
      RESET_TOKEN_TTL_MINUTES: "soon",
    });
    expect(code).toBe(1);
    expect(output).toContain("RESET_TOKEN_TTL_MINUTES");
  });

  test("on the mail outbox or the embedded database unless chosen, and starts once both are chosen", async () => {
    const base = { AUTH_SECRET: "x".repeat(40), APP_URL: "https://rekey.example.com" };
    const refused = await startWith(base);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain("Refusing to run in production with a configuration that loses data");
    expect(refused.output).toContain("MAIL_TRANSPORT=outbox");
    expect(refused.output).toContain("ALLOW_EMBEDDED_DATABASE=1");

    // Both chosen: the configuration check passes and the server answers. (Next prints "Ready"
    // before it loads the configuration, so only an answer shows that the check let it through.)
    const dataDir = await mkdtemp(path.join(tmpdir(), "rekey-startup-"));
    try {
      const started = await startOwnServer({ ...base, DATA_DIR: dataDir, MAIL_TRANSPORT: "outbox", ALLOW_EMBEDDED_DATABASE: "1" });
      try {
        expect((await fetch(`${started.url}/api/v1/openapi.json`)).status).toBe(200);
        expect(started.output()).not.toContain("Refusing");
      } finally {
        await started.stop();
      }
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
    expect(code).toBe(1);
    expect(output).toContain("SESSION_ABSOLUTE_MAX_AGE_DAYS (14) must be at least SESSION_MAX_AGE_DAYS (30)");
  });
});
