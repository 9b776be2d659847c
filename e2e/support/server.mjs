// Starts the app for the e2e run as production runs it: `next build` + `next start`, on a
// fresh PostgreSQL database, with the real Resend SDK pointed at the local stand-in.
// Everything the server prints also goes to .data/e2e/server.log, which the tests read to
// prove that no token is ever logged.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import postgres from "postgres";

const appPort = Number(process.env.E2E_PORT ?? 3100);
const resendPort = Number(process.env.E2E_RESEND_PORT ?? appPort + 1);
const adminUrl = process.env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const runId = process.env.E2E_RUN_ID ?? "local";
const databaseName = `rekey_e2e_${runId}`;
const databaseUrl = new URL(adminUrl);
databaseUrl.pathname = `/${databaseName}`;
// Written by the build step below, read by e2e/startup.spec.ts (E2E.buildRecord).
const buildRecord = ".data/e2e/build.json";

const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
try {
  await admin.unsafe(`drop database if exists "${databaseName}" with (force)`);
  await admin.unsafe(`create database "${databaseName}"`);
} catch (error) {
  console.error(`e2e: cannot create a database on ${new URL(adminUrl).host}: ${error.message}`);
  console.error("e2e: the e2e suite needs PostgreSQL; set TEST_DATABASE_URL to a server you may create databases on.");
  process.exit(1);
} finally {
  await admin.end();
}

// Where the app runs, and its secrets: given to `next start` only. The build below gets none
// of it, as a container image's build does (docs/operations-container.md), so the whole suite
// runs on a build made without secrets and configured at start.
const startOnly = {
  APP_URL: `http://localhost:${appPort}`,
  AUTH_SECRET: randomBytes(32).toString("base64url"),
  DATABASE_URL: databaseUrl.toString(),
  RESEND_API_KEY: "re_e2e_stand_in",
  RESEND_BASE_URL: `http://127.0.0.1:${resendPort}`,
  EMAIL_FROM: "Rekey <no-reply@rekey.test>",
  MAIL_TIMEOUT_MS: "2000",
  // The suite sends many emails in parallel; pacing at Resend's 2 a second would only slow it.
  MAIL_SENDS_PER_SECOND: process.env.E2E_MAIL_SENDS_PER_SECOND ?? "100",
  JOBS_LEASE_SECONDS: "10",
  LOG_LEVEL: "info",
  // The one admin address of the run (e2e/support/settings.ts derives the same); tests create the account.
  ADMIN_EMAILS: `admin-${runId}@rekey.test`,
};
// Also removed when the calling shell has them: a developer's exported DATABASE_URL must not
// reach the build either.
const buildEnv = { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" };
for (const name of ["APP_URL", "AUTH_SECRET", "AUTH_SECRET_PREVIOUS", "DATABASE_URL", "RESEND_API_KEY", ...Object.keys(startOnly)]) {
  delete buildEnv[name];
}
const env = { ...buildEnv, ...startOnly };

if (process.env.E2E_SKIP_BUILD !== "1") {
  // It also records the names of the variables the build saw, for e2e/startup.spec.ts.
  const build = spawnSync(process.execPath, ["e2e/support/build-recorded.mjs", buildRecord], {
    env: buildEnv,
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

mkdirSync(".data/e2e", { recursive: true });
const log = createWriteStream(".data/e2e/server.log", { flags: "w" });
// Started as `npm start` starts it (package.json): the same Node flags (the heap policy that keeps
// the server's memory in check, docs/benchmarks.md), so the suite and the bench run the server
// production runs.
const startScript = JSON.parse(readFileSync("package.json", "utf8")).scripts.start;
const startCommand = startScript.match(/^node ((?:--[\w-]+(?:=\S+)? )*)(node_modules\/next\/dist\/bin\/next) start$/);
if (!startCommand)
  throw new Error(`e2e: package.json's start script is not "node [flags] node_modules/next/dist/bin/next start": ${startScript}`);
const nodeFlags = startCommand[1].split(" ").filter(Boolean);
const server = spawn(process.execPath, [...nodeFlags, startCommand[2], "start", "-p", String(appPort)], {
  env,
  // Same process group as this script: Playwright stops the whole group at the end.
  stdio: ["ignore", "pipe", "pipe"],
});
for (const stream of [server.stdout, server.stderr]) {
  stream.on("data", (chunk) => {
    log.write(chunk);
    if (process.env.E2E_SERVER_OUTPUT === "1") process.stderr.write(chunk);
  });
}

let stopping = false;
function stop(signal) {
  stopping = true;
  try {
    server.kill(signal);
  } catch {
    // already gone
  }
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => stop("SIGTERM"));
process.on("exit", () => stop("SIGKILL"));
server.on("exit", (code) => {
  log.end();
  if (code && !stopping) console.error(`e2e: next start exited with ${code}; see .data/e2e/server.log`);
  process.exit(code ?? 0);
});
