// Where the e2e run's pieces live. Read by playwright.config.ts and the fixtures; the server
// script (plain Node) derives the same values from the same variables.
const appPort = Number(process.env.E2E_PORT ?? 3100);
const resendPort = Number(process.env.E2E_RESEND_PORT ?? appPort + 1);
const adminUrl = process.env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";

function databaseUrl(): string {
  const url = new URL(adminUrl);
  url.pathname = `/rekey_e2e_${process.env.E2E_RUN_ID ?? "local"}`;
  return url.toString();
}

export const E2E = {
  appPort,
  appUrl: `http://localhost:${appPort}`,
  resendPort,
  resendUrl: `http://127.0.0.1:${resendPort}`,
  adminDatabaseUrl: adminUrl,
  get databaseUrl() {
    return databaseUrl();
  },
  serverLog: ".data/e2e/server.log",
  /** What e2e/support/server.mjs built with: `{ buildId, variables }` (names only). */
  buildRecord: ".data/e2e/build.json",
  /** ADMIN_EMAILS of the e2e server (e2e/support/server.mjs); tests create this account as needed. */
  get adminEmail() {
    return `admin-${process.env.E2E_RUN_ID ?? "local"}@rekey.test`;
  },
};
