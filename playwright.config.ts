import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { defineConfig, devices } from "@playwright/test";
import { E2E } from "./e2e/support/settings";

// Set once in the main process; workers inherit it, so every worker sees the same database.
process.env.E2E_RUN_ID ??= `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;

// Debian's Chromium (the machines here cannot download Playwright's browser); CHROMIUM_PATH
// overrides, and without either, Playwright's own browser is used.
const chromiumPath = process.env.CHROMIUM_PATH || ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find((p) => existsSync(p));

export default defineConfig({
  testDir: "./e2e",
  outputDir: "./test-results",
  fullyParallel: true,
  workers: 2,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"], ["json", { outputFile: ".data/test-results/playwright.json" }]],
  globalTeardown: "./e2e/support/global-teardown.ts",
  use: {
    ...devices["Desktop Chrome"],
    baseURL: E2E.appUrl,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: chromiumPath,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  webServer: [
    {
      command: "node e2e/support/resend-stand-in.mjs",
      url: `${E2E.resendUrl}/__health`,
      reuseExistingServer: false,
      env: { RESEND_STAND_IN_PORT: String(E2E.resendPort) },
      stdout: "ignore",
    },
    {
      // Builds (unless E2E_SKIP_BUILD=1) and runs `next start` on a fresh PostgreSQL database,
      // with the real Resend SDK pointed at the stand-in above.
      command: "node e2e/support/server.mjs",
      url: `${E2E.appUrl}/login`,
      reuseExistingServer: false,
      timeout: 240_000,
      stdout: "ignore",
      stderr: "pipe",
    },
  ],
});
