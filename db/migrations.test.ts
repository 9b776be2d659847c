import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { describeEachDatabase } from "@/test-support/databases";

describeEachDatabase("migrations", ({ handle }) => {
  it("apply to an empty database and create every table", async () => {
    const result = await handle().db.execute<{ table_name: string }>(
      sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
    );
    const rows = (Array.isArray(result) ? result : (result as { rows: { table_name: string }[] }).rows) as { table_name: string }[];
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
