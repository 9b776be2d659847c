import { createElement } from "react";
import { expect, it } from "vitest";
import { jobs } from "@/db/schema";
import { audit } from "@/lib/audit";
import { overrideEnvForTests } from "@/lib/env";
import { sendEmail } from "@/lib/mail";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox } from "@/test-support/mail-helpers";
import { GET } from "./route";

const TOKEN = "metrics-token-for-tests-0123456789";
const call = (authorization?: string) =>
  GET(new Request("http://rekey.test/api/metrics", { headers: authorization ? { authorization } : {} }));

function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

// Each test mails to an outbox directory of its own, and its environment is restored after it.
const outbox = installTestOutbox();

describeEachDatabase("GET /api/metrics", ({ handle }) => {
  it("does not exist while METRICS_TOKEN is unset, and refuses a missing or wrong token", async () => {
    overrideEnvForTests({ METRICS_TOKEN: undefined });
    expect((await call(`Bearer ${TOKEN}`)).status).toBe(404);
    overrideEnvForTests({ METRICS_TOKEN: TOKEN });
    expect((await call()).status).toBe(401);
    expect((await call(`Bearer ${TOKEN}x`)).status).toBe(401);
  });

  it("counts audited events, times email sends and reads the queue depth from the jobs table", async () => {
    outbox.configure({ METRICS_TOKEN: TOKEN, MAIL_TRANSPORT: "outbox" });
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
