import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openDatabase, queryRows } from "./client";
import { describeEachDatabase } from "@/test-support/databases";

describeEachDatabase("migrations", ({ handle }) => {
  it("apply to an empty database and create every table", async () => {
    const rows = await queryRows<{ table_name: string }>(
      handle().db,
      sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
    );
    expect(rows.map((r) => r.table_name)).toEqual([
      "account_deletion_cancel_tokens",
      "accounts",
      "audit_daily_counts",
      "audit_events",
      "device_authorizations",
      "email_change_tokens",
      "email_change_undo_tokens",
      "email_verification_tokens",
      "jobs",
      "passkeys",
      "password_change_report_tokens",
      "password_reset_tokens",
      "rate_limit_buckets",
      "recovery_codes",
      "send_pace",
      "sessions",
      "two_factor_challenges",
      "users",
      "verification_tokens",
      "webauthn_challenges",
    ]);
  });
});

const execFileAsync = promisify(execFile);

describe("npm run db:migrate", () => {
  it("migrates an empty embedded database under DATA_DIR, as a release step would", { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "rekey-migrate-"));
    try {
      const { stdout } = await execFileAsync("npm", ["run", "-s", "db:migrate"], {
        cwd: path.resolve(__dirname, ".."),
        timeout: 90_000,
        env: {
          NODE_ENV: "development",
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          LOG_LEVEL: "silent",
          DATA_DIR: dataDir,
        },
      });
      expect(stdout).toContain("Migrations applied (pglite");
      const opened = await openDatabase({ dataDir: path.join(dataDir, "pglite") });
      try {
        const rows = await queryRows<{ n: number }>(
          opened.db,
          sql`select count(*)::int as n from information_schema.tables where table_name = 'users'`,
        );
        expect(rows[0]?.n).toBe(1);
      } finally {
        await opened.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
