// `npm test`: everything, in the order that fails fastest: format, lint, type check, unit and
// integration tests (PGlite, plus PostgreSQL), then the e2e suite in Chromium against a
// production build. Ends with one line counting every test run.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import postgres from "postgres";

const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", TEST_DATABASE_URL: process.env.TEST_DATABASE_URL || DEFAULT_DATABASE_URL };
const results = ".data/test-results";
rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });

function step(title, command, args) {
  console.log(`\n=== ${title}: ${command} ${args.join(" ")}`);
  const run = spawnSync(command, args, { stdio: "inherit", env });
  if (run.status !== 0) {
    console.error(`\n${title} failed (exit ${run.status ?? run.signal}).`);
    summary();
    process.exit(run.status || 1);
  }
}

function summary() {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const vitest = `${results}/vitest.json`;
  if (existsSync(vitest)) {
    const report = JSON.parse(readFileSync(vitest, "utf8"));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
  }
  const playwright = `${results}/playwright.json`;
  if (existsSync(playwright)) {
    const stats = JSON.parse(readFileSync(playwright, "utf8")).stats;
    passed += stats.expected + stats.flaky;
    failed += stats.unexpected;
    skipped += stats.skipped;
  }
  console.log(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
}

// The PostgreSQL suites and the e2e run create their own databases on this server.
try {
  const sql = postgres(env.TEST_DATABASE_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
  await sql`select 1`;
  await sql.end();
} catch (error) {
  console.error(`Cannot reach PostgreSQL at ${env.TEST_DATABASE_URL} (${error.message}).`);
  console.error("npm test needs a PostgreSQL server it may create databases on: start one, or set TEST_DATABASE_URL.");
  process.exit(1);
}

step("format", "npx", ["prettier", "--check", "."]);
step("lint", "npx", ["eslint", "--max-warnings=0", "."]);
step("type check", "npx", ["tsc", "--noEmit"]);
step("unit + integration (PGlite and PostgreSQL)", "npx", [
  "vitest",
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${results}/vitest.json`,
]);
step("e2e (next build + next start, Chromium)", "npx", ["playwright", "test"]);
summary();
