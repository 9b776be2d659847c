// `npm run bench`: does the forgot-password answer take longer for an address that has an
// account? Starts a production server (as the e2e suite does: PostgreSQL + Resend stand-in),
// then sends interleaved requests for known and unknown addresses and prints the response-time
// distributions. Numbers, not a pass/fail: run it on a quiet machine and compare.
//   BENCH_REQUESTS=200 npm run bench        (E2E_SKIP_BUILD=1 reuses an existing build)
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { hash } from "@node-rs/argon2";
import postgres from "postgres";

const port = Number(process.env.BENCH_PORT ?? 3500);
const total = Number(process.env.BENCH_REQUESTS ?? 200);
// A pause between requests lets the previous request's after() work finish, so each sample
// measures one answer and not the background work of the one before.
const gapMs = Number(process.env.BENCH_GAP_MS ?? 150);
const base = `http://localhost:${port}`;
const runId = `bench${randomBytes(3).toString("hex")}`;
const env = { ...process.env, E2E_PORT: String(port), E2E_RUN_ID: runId, NEXT_TELEMETRY_DISABLED: "1" };
const adminUrl = process.env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";

const standIn = spawn("node", ["e2e/support/resend-stand-in.mjs"], { env: { ...env, RESEND_STAND_IN_PORT: String(port + 1) }, stdio: "ignore" });
const server = spawn("node", ["e2e/support/server.mjs"], { env, stdio: ["ignore", "inherit", "inherit"] });
const stop = () => {
  server.kill("SIGTERM");
  standIn.kill("SIGTERM");
};
process.on("exit", stop);

async function waitForServer() {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${base}/login`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("server did not start");
}

function actionFields(html) {
  const fields = {};
  for (const match of html.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = match[0].match(/name="([^"]*)"/)?.[1];
    const value = (match[0].match(/value="([^"]*)"/)?.[1] ?? "").replace(/&quot;/g, '"').replace(/&amp;/g, "&");
    if (name?.startsWith("$ACTION")) fields[name] = value;
  }
  return fields;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function describe(label, samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const fmt = (n) => `${n.toFixed(1).padStart(6)} ms`;
  console.log(`${label.padEnd(16)} n=${String(samples.length).padStart(4)}  median ${fmt(percentile(sorted, 50))}  p90 ${fmt(percentile(sorted, 90))}  p99 ${fmt(percentile(sorted, 99))}  mean ${fmt(mean)}`);
  return percentile(sorted, 50);
}

try {
  await waitForServer();
  const url = new URL(adminUrl);
  url.pathname = `/rekey_e2e_${runId}`;
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {} });
  const passwordHash = await hash("Correct-Horse-9", { memoryCost: 19456, timeCost: 2, parallelism: 1, algorithm: 2 });
  const known = [];
  for (let i = 0; i < total / 2; i++) {
    const email = `bench-${runId}-${i}@example.com`;
    await sql`insert into users (id, email, password_hash) values (${randomUUID()}, ${email}, ${passwordHash})`;
    known.push(email);
  }
  const fields = actionFields(await (await fetch(`${base}/forgot-password`)).text());
  const timings = { known: [], unknown: [] };
  for (let i = 0; i < total; i++) {
    const kind = i % 2 === 0 ? "known" : "unknown";
    const email = kind === "known" ? known[i / 2] : `nobody-${runId}-${i}@example.com`;
    const form = new FormData();
    for (const [k, v] of Object.entries({ ...fields, email })) form.append(k, v);
    const started = performance.now();
    const response = await fetch(`${base}/forgot-password`, {
      method: "POST",
      body: form,
      headers: { origin: base, "x-forwarded-for": `198.18.${(i >> 8) & 255}.${i & 255}` },
    });
    await response.text();
    timings[kind].push(performance.now() - started);
    await new Promise((r) => setTimeout(r, gapMs));
    if (response.status !== 200) throw new Error(`unexpected status ${response.status}`);
  }
  console.log(`\nforgot-password response times, ${total} interleaved requests, ${gapMs} ms apart (first 10 dropped as warm-up)`);
  const a = describe("known address", timings.known.slice(5));
  const b = describe("unknown address", timings.unknown.slice(5));
  console.log(`median difference (known - unknown): ${(a - b).toFixed(2)} ms`);
  const sent = await sql`select count(*)::int as n from audit_events where event = 'password_reset.email_sent'`;
  console.log(`reset emails sent after the responses: ${sent[0].n} of ${known.length} known addresses`);
  await sql.end();
} finally {
  stop();
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "rekey_e2e_${runId}" with (force)`).catch(() => {});
  await admin.end();
}
