import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { queryRows } from "./client";
import { describeEachDatabase } from "@/test-support/databases";

describeEachDatabase("migrations", ({ handle }) => {
  it("apply to an empty database and create every table", async () => {
    const rows = await queryRows<{ table_name: string }>(
      handle().db,
      sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
    );
    expect(rows.map((r) => r.table_name)).toEqual([
      "accounts",
      "audit_daily_counts",
      "audit_events",
      "email_verification_tokens",
      "jobs",
      "password_change_report_tokens",
      "password_reset_tokens",
      "rate_limit_buckets",
      "recovery_codes",
      "send_pace",
      "sessions",
      "two_factor_challenges",
      "users",
      "verification_tokens",
    ]);
  });
});
