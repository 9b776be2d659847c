import { randomUUID } from "node:crypto";
import { sql, type SQL } from "drizzle-orm";
import { expect, it } from "vitest";
import { queryRows, type Database } from "@/db/client";
import { describeEachDatabase } from "@/test-support/databases";
import { heldInputSql, stepsRecordSql } from "./steps";

// How PostgreSQL plans the statements that do one step for a batch of jobs (lib/jobs/steps.ts).
// The jobs table keeps finished jobs for JOBS_RETENTION_DAYS: tens of thousands of rows on a
// modest deployment. A batch's few rows must be looked up there by the primary key; planned
// for the 100 rows a set function counts as, the lookup was a hashed scan of the whole table in
// every statement (14 ms at 20,000 jobs instead of 0.4). A plan, not a timing: what the planner
// chose does not depend on how busy the machine is.

type PlanNode = { "Node Type": string; "Relation Name"?: string; Plans?: PlanNode[] };

/** Every node of `plan` that reads the relation `table`, with how it reads it. */
function readsOf(plan: PlanNode, table: string): string[] {
  const own = plan["Relation Name"] === table ? [plan["Node Type"]] : [];
  return [...own, ...(plan.Plans ?? []).flatMap((child) => readsOf(child, table))];
}

async function plan(db: Database, statement: SQL): Promise<PlanNode> {
  const [row] = await queryRows<{ "QUERY PLAN": [{ Plan: PlanNode }] | string }>(db, sql`explain (format json) ${statement}`);
  const explained = row!["QUERY PLAN"];
  return (typeof explained === "string" ? (JSON.parse(explained) as [{ Plan: PlanNode }]) : explained)[0].Plan;
}

describeEachDatabase("batched job statements", ({ handle }) => {
  it("look a batch's jobs up by primary key in a table of 20,000 finished jobs, not by scanning it", async () => {
    const db = handle().db;
    await db.execute(sql`insert into jobs (kind, status, finished_at)
      select 'password_reset.request', 'done', now() from generate_series(1, 20000)`);
    await db.execute(sql`analyze jobs`);
    const batch = Array.from({ length: 12 }, (_, n) => ({ n, job_id: randomUUID(), claim_id: randomUUID() }));
    // The shape of every such statement: the jobs still held, and their steps recorded or ended.
    const statement = sql`with ${heldInputSql(batch, "n int, job_id uuid, claim_id uuid")},
      ended as (${stepsRecordSql(sql`select job_id, claim_id, true, '{}'::jsonb from held`)})
      select n from held`;
    const reads = readsOf(await plan(db, statement), "jobs");
    expect(reads.length).toBeGreaterThan(0);
    // ModifyTable is the UPDATE itself; what finds its rows, and the held check, are index scans.
    expect(reads.filter((how) => how !== "Index Scan" && how !== "ModifyTable")).toEqual([]);
  });
});
