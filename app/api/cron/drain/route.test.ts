import { eq, inArray } from "drizzle-orm";
import { expect, it } from "vitest";
import { jobs } from "@/db/schema";
import { overrideEnvForTests } from "@/lib/env";
import { enqueueJob } from "@/lib/jobs/queue";
import { resetRequestJob } from "@/lib/recovery/jobs";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox } from "@/test-support/mail-helpers";
import { uniqueEmail } from "@/test-support/users";
import { GET } from "./route";

const SECRET = "cron-secret-for-tests-0123456789";
const call = (authorization?: string) =>
  GET(new Request("http://rekey.test/api/cron/drain", { headers: authorization ? { authorization } : {} }));

// Each test mails to an outbox directory of its own, and its environment is restored after it.
const outbox = installTestOutbox();

describeEachDatabase("GET /api/cron/drain", ({ handle }) => {
  it("does not exist while CRON_SECRET is unset, and refuses a wrong secret", async () => {
    overrideEnvForTests({ CRON_SECRET: undefined });
    expect((await call(`Bearer ${SECRET}`)).status).toBe(404);
    overrideEnvForTests({ CRON_SECRET: SECRET });
    expect((await call()).status).toBe(401);
    expect((await call(`Bearer ${SECRET}x`)).status).toBe(401);
  });

  it("runs the jobs left behind (after() never ran them) and says how many", async () => {
    outbox.configure({ CRON_SECRET: SECRET });
    const db = handle().db;
    const dropped = () => {}; // the instance died before its after() work ran
    const ids = await Promise.all(
      [1, 2, 3].map(() => enqueueJob(db, resetRequestJob, { email: uniqueEmail(), ip: null, userAgent: null }, dropped)),
    );

    const response = await call(`Bearer ${SECRET}`);

    expect(response.status).toBe(200);
    expect(((await response.json()) as { ran: number }).ran).toBeGreaterThanOrEqual(3);
    const rows = await db.select({ status: jobs.status }).from(jobs).where(inArray(jobs.id, ids));
    expect(rows.map((r) => r.status)).toEqual(["done", "done", "done"]);
    expect(await db.select().from(jobs).where(eq(jobs.status, "pending"))).toEqual([]);
  });
});
