import { createElement } from "react";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { jobs } from "@/db/schema";
import { audit } from "@/lib/audit";
import { overrideEnvForTests } from "@/lib/env";
import { sendEmail } from "@/lib/mail";
import { describeEachDatabase } from "@/test-support/databases";
import { freshOutboxDir } from "@/test-support/reset-helpers";
import { GET } from "./route";

const TOKEN = "metrics-token-for-tests-0123456789";
const call = (authorization?: string) =>
  GET(new Request("http://rekey.test/api/metrics", { headers: authorization ? { authorization } : {} }));

function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

let outbox: { dir: string; remove: () => Promise<void> };
beforeEach(async () => {
  outbox = await freshOutboxDir();
  vi.spyOn(console, "log").mockImplementation(() => {});
});
afterEach(async () => {
  vi.restoreAllMocks();
  overrideEnvForTests({});
  await outbox.remove();
});

describeEachDatabase("GET /api/metrics", ({ handle }) => {
  it("does not exist while METRICS_TOKEN is unset, and refuses a missing or wrong token", async () => {
    overrideEnvForTests({ METRICS_TOKEN: undefined });
    expect((await call(`Bearer ${TOKEN}`)).status).toBe(404);
    overrideEnvForTests({ METRICS_TOKEN: TOKEN });
    expect((await call()).status).toBe(401);
    expect((await call(`Bearer ${TOKEN}x`)).status).toBe(401);
  });

  it("counts audited events, times email sends and reads the queue depth from the jobs table", async () => {
    overrideEnvForTests({ METRICS_TOKEN: TOKEN, RESEND_API_KEY: undefined, MAIL_TRANSPORT: "outbox", MAIL_OUTBOX_DIR: outbox.dir });
    const { db } = handle();
    await db.delete(jobs);
    const before = await (await call(`Bearer ${TOKEN}`)).text();

    await audit(db, { event: "password_reset.token_invalid" });
    await audit(db, { event: "password_reset.token_invalid" });
    await sendEmail({ to: "someone@example.com", subject: "Hello", idempotencyKey: "metrics-test", react: createElement("p", null, "Hi") });
    await db.insert(jobs).values([
      { kind: "password_reset.request", payload: {} },
      { kind: "password_reset.request", payload: {}, attempts: 3 },
    ]);

    const response = await call(`Bearer ${TOKEN}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const after = await response.text();
    const invalid = 'rekey_events_total{event="password_reset.token_invalid"}';
    expect(sample(after, invalid) - sample(before, invalid)).toBe(2);
    const sends = 'rekey_email_send_duration_seconds_count{transport="outbox",outcome="sent"}';
    expect(sample(after, sends) - sample(before, sends)).toBe(1);
    expect(sample(after, 'rekey_jobs{status="pending"}')).toBe(2);
    expect(sample(after, "rekey_jobs_retrying")).toBe(1);
  });
});
