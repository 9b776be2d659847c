// Part of `npm run bench`: does registration's answer, or the answer after it, take longer
// for an address that is free, confirmed or waiting for confirmation? Starts a production
// server (as the e2e suite does: PostgreSQL + Resend stand-in), sends shuffled registrations
// for the three kinds, and prints the response-time distributions. Numbers, not a pass/fail.
//   BENCH_REQUESTS=200 node scripts/bench-registration.mjs   (E2E_SKIP_BUILD=1 reuses a build)
import { randomBytes, randomUUID } from "node:crypto";
import { hash } from "@node-rs/argon2";
import postgres from "postgres";
import { startBenchServer } from "./bench-server.mjs";

const port = Number(process.env.BENCH_REGISTRATION_PORT ?? 3550);
const total = Number(process.env.BENCH_REQUESTS ?? 200);
// A pause between requests lets the previous request's after() work finish, so each sample
// measures one answer and not the background work of the one before.
const gapMs = Number(process.env.BENCH_GAP_MS ?? 150);
const base = `http://localhost:${port}`;
const runId = `bench${randomBytes(3).toString("hex")}`;
const env = { ...process.env, E2E_PORT: String(port), E2E_RUN_ID: runId, NEXT_TELEMETRY_DISABLED: "1" };
const adminUrl = process.env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";

const { stop, waitForServer } = startBenchServer(port, env, { serverOutput: "inherit" });

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
  console.log(
    `${label.padEnd(16)} n=${String(samples.length).padStart(4)}  median ${fmt(percentile(sorted, 50))}  p90 ${fmt(percentile(sorted, 90))}  p99 ${fmt(percentile(sorted, 99))}  mean ${fmt(mean)}`,
  );
  return percentile(sorted, 50);
}

try {
  await waitForServer();
  const url = new URL(adminUrl);
  url.pathname = `/rekey_e2e_${runId}`;
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {} });
  const passwordHash = await hash("Correct-Horse-9", { memoryCost: 19456, timeCost: 2, parallelism: 1, algorithm: 2 });
  /**
   * Sends form posts to `path`, one per entry of `order` (a kind each); returns the response
   * times per kind, and per kind of the request before (whose deferred work, back to back,
   * competes with this answer for the CPU).
   */
  async function measure(path, order, formFor) {
    const fields = actionFields(await (await fetch(`${base}${path}`)).text());
    const timings = {};
    const after = {};
    const seen = {};
    for (let i = 0; i < order.length; i++) {
      const kind = order[i];
      seen[kind] = (seen[kind] ?? -1) + 1;
      const form = new FormData();
      for (const [k, v] of Object.entries({ ...fields, ...formFor(kind, seen[kind], i) })) form.append(k, v);
      const started = performance.now();
      const response = await fetch(`${base}${path}`, {
        method: "POST",
        body: form,
        headers: { origin: base, "x-forwarded-for": `198.${path === "/register" ? 19 : 18}.${(i >> 8) & 255}.${i & 255}` },
      });
      await response.text();
      const elapsed = performance.now() - started;
      (timings[kind] ??= []).push(elapsed);
      if (i > 0) (after[order[i - 1]] ??= []).push(elapsed);
      await new Promise((r) => setTimeout(r, gapMs));
      if (response.status !== 200) throw new Error(`unexpected status ${response.status} from ${path}`);
    }
    return { ...timings, after };
  }

  // Registration: a free address creates an account, a confirmed one warns its owner, an
  // unconfirmed one is replaced; each hashes the password and renders one email after the answer.
  const perKind = Math.ceil(total / 3);
  const confirmed = [];
  const unconfirmed = [];
  for (let i = 0; i < perKind; i++) {
    const [c, u] = [`bench-${runId}-c${i}@example.com`, `bench-${runId}-u${i}@example.com`];
    await sql`insert into users (id, email, password_hash, email_verified_at) values (${randomUUID()}, ${c}, ${passwordHash}, now())`;
    await sql`insert into users (id, email, password_hash) values (${randomUUID()}, ${u}, ${passwordHash})`;
    confirmed.push(c);
    unconfirmed.push(u);
  }
  const password = "Bench-Register-Pass-7";
  // Shuffled, so that each kind follows every kind about equally often.
  const order = ["free", "confirmed", "unconfirmed"].flatMap((kind) => Array.from({ length: perKind }, () => kind));
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const registration = await measure("/register", order, (kind, n) => ({
    email: kind === "free" ? `bench-${runId}-f${n}@example.com` : kind === "confirmed" ? confirmed[n] : unconfirmed[n],
    name: "",
    password,
    confirmPassword: password,
  }));
  console.log(`\nregistration response times, ${order.length} shuffled requests, ${gapMs} ms apart (first 5 of each dropped as warm-up)`);
  const free = describe("free address", registration.free.slice(5));
  const taken = describe("confirmed addr", registration.confirmed.slice(5));
  const waiting = describe("unconfirmed addr", registration.unconfirmed.slice(5));
  console.log(
    `median difference (free - confirmed): ${(free - taken).toFixed(2)} ms, (free - unconfirmed): ${(free - waiting).toFixed(2)} ms`,
  );
  console.log("the next answer, after the deferred work of a registration for a");
  const afterFree = describe("free address", registration.after.free.slice(5));
  const afterTaken = describe("confirmed addr", registration.after.confirmed.slice(5));
  const afterWaiting = describe("unconfirmed addr", registration.after.unconfirmed.slice(5));
  console.log(
    `median difference (after free - after confirmed): ${(afterFree - afterTaken).toFixed(2)} ms, (after free - after unconfirmed): ${(afterFree - afterWaiting).toFixed(2)} ms`,
  );
  // The deferred work runs after the answers: give the last ones a moment before counting.
  await new Promise((r) => setTimeout(r, 2000));
  const [counts] = await sql`select
      count(*) filter (where event = 'user.registered')::int as created,
      count(*) filter (where event = 'user.registration_replaced')::int as replaced,
      count(*) filter (where event = 'registration.existing_email')::int as warned
    from audit_events`;
  console.log(
    `after the responses: ${counts.created} accounts created, ${counts.replaced} unconfirmed replaced, ${counts.warned} owners warned`,
  );
  await sql.end();
} finally {
  stop();
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "rekey_e2e_${runId}" with (force)`).catch(() => {});
  await admin.end();
}
