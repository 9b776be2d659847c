import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, startOwnServer, type OwnServer } from "./api/support/own-server";
import { expect, test, uniqueEmail, uniqueIp } from "./support/fixtures";
import { createOwnPostgres, type OwnPostgres } from "./support/own-postgres";

// Two production instances on one PostgreSQL cluster of the test's own, which the test stops
// and starts again. Serial: the tests share the cluster and its state.
test.describe.configure({ mode: "serial", timeout: 120_000 });

// "Within the timeout": connect timeout 3 s, probe 2 s; a refused connection answers at once.
const ANSWER_WITHIN_MS = 5_000;

let pg: OwnPostgres;
let servers: OwnServer[] = [];
let dataDir: string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  pg = await createOwnPostgres(await freePort());
  dataDir = await mkdtemp(path.join(tmpdir(), "rekey-outage-"));
  const env = { DATABASE_URL: pg.url, MAIL_TRANSPORT: "outbox", DATA_DIR: dataDir };
  servers = await Promise.all([startOwnServer(env, { readyTimeoutMs: 60_000 }), startOwnServer(env, { readyTimeoutMs: 60_000 })]);
});

test.afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  pg?.destroy();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test.afterEach(() => {
  // Whatever a test did, the next one starts with the database up.
  try {
    pg.start();
  } catch {
    // already running
  }
});

async function timed(url: string, init?: RequestInit): Promise<{ response: Response; body: string; ms: number }> {
  const started = Date.now();
  const response = await fetch(url, { redirect: "manual", ...init, signal: AbortSignal.timeout(15_000) });
  const body = await response.text();
  return { response, body, ms: Date.now() - started };
}

const forgotPassword = (server: OwnServer) =>
  timed(`${server.url}/api/v1/auth/forgot-password`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: uniqueEmail("outage") }),
  });

test("with PostgreSQL stopped, pages and the API answer 503 within seconds, from the first request; once it is back both instances serve again without a restart", async () => {
  for (const server of servers) {
    expect((await timed(`${server.url}/login`)).response.status).toBe(200);
    expect((await forgotPassword(server)).response.status).toBe(202);
  }

  pg.stop();

  for (const server of servers) {
    // The first request after the outage began, on each instance.
    const page = await timed(`${server.url}/reset-password/${"a".repeat(43)}`);
    expect(page.response.status).toBe(503);
    expect(page.ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(page.response.headers.get("retry-after")).toBe("5");
    expect(page.body).toContain("Temporarily unavailable");
    expect(page.body).toContain("try again in a moment");
    // The app's own look: its header and stylesheet, not the framework's bare error page.
    expect(page.body).toContain('class="site-header"');

    for (const pathname of ["/login", "/forgot-password", "/account", "/"]) {
      const other = await timed(`${server.url}${pathname}`);
      expect(other.response.status, pathname).toBe(503);
      expect(other.ms, pathname).toBeLessThan(ANSWER_WITHIN_MS);
      expect(other.body, pathname).toContain("Temporarily unavailable");
    }

    const api = await forgotPassword(server);
    expect(api.response.status).toBe(503);
    expect(api.ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(api.response.headers.get("retry-after")).toBe("5");
    expect(JSON.parse(api.body)).toMatchObject({ error: { code: "service_unavailable" } });

    const health = await timed(`${server.url}/api/v1/health`);
    expect(health.response.status).toBe(503);
    expect(JSON.parse(health.body)).toEqual({ status: "error", database: "unavailable" });
  }

  pg.start();

  for (const server of servers) {
    await expect
      .poll(async () => (await timed(`${server.url}/login`)).response.status, { timeout: 20_000, intervals: [250, 500, 1_000] })
      .toBe(200);
    expect((await forgotPassword(server)).response.status).toBe(202);
    expect((await timed(`${server.url}/reset-password/${"a".repeat(43)}`)).response.status).toBe(200);
    expect((await timed(`${server.url}/api/v1/health`)).response.status).toBe(200);
  }
});

test("health tells the truth through a restart: after each 200 the next forgot-password on that instance is served, and while health says 503 so does it", async () => {
  // Bounded: about 4 s down, then PostgreSQL's start, then 3 s of both instances healthy; 60 s at most.
  const deadline = Date.now() + 60_000;
  const health = async (server: OwnServer) => (await timed(`${server.url}/api/v1/health`)).response.status;
  // Each from an address of its own, so the per-IP limit never answers instead (429).
  const next = async (server: OwnServer) =>
    (
      await timed(`${server.url}/api/v1/auth/forgot-password`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": uniqueIp() },
        body: JSON.stringify({ email: uniqueEmail("restart") }),
      })
    ).response.status;
  const seen: { instance: number; health: number; next: number }[] = [];
  /** One round: on each instance, the health check and at once the request a load balancer would send. */
  const round = async () => {
    for (const [instance, server] of servers.entries()) {
      const status = await health(server);
      seen.push({ instance, health: status, next: await next(server) });
    }
  };

  pg.stop();
  // Both instances have seen the outage (their routes, not only their health checks).
  for (const stopUntil = Date.now() + 4_000; Date.now() < stopUntil;) await round();
  let started = false;
  const starting = pg.startInBackground().then(() => {
    started = true;
  });
  let healthySince: number | null = null;
  while (Date.now() < deadline) {
    await round();
    const last = seen.slice(-servers.length);
    if (!started || last.some((s) => s.health !== 200)) healthySince = null;
    else if ((healthySince ??= Date.now()) < Date.now() - 3_000) break;
  }
  await starting;

  expect(healthySince, "both instances healthy for 3 s once PostgreSQL was back").not.toBeNull();
  expect(seen.filter((s) => s.health === 503).length).toBeGreaterThan(0);
  // Each (instance, health, next) that contradicts: a 200 followed by a 503, or a 503 by a served request.
  const contradicted = seen.filter((s) => (s.health === 200 ? s.next === 503 : s.next !== 503));
  expect(contradicted, `of ${seen.length} health checks`).toEqual([]);
  for (const instance of servers.keys()) expect(seen.some((s) => s.instance === instance && s.health === 200)).toBe(true);
});

test("signing in while PostgreSQL is down says it could not sign you in right now, not that the password is wrong", async ({ browser }) => {
  const server = servers[0]!;
  const context = await browser.newContext({ baseURL: server.url });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Email").fill(uniqueEmail("outage"));
  await page.getByLabel("Password", { exact: true }).fill("Some-Password-2026!");

  pg.stop();
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByTestId("form-error")).toHaveText("We could not sign you in right now. Please try again in a moment.");
  await expect(page.getByText("Incorrect email or password")).toHaveCount(0);
  await context.close();
});

test("a database that accepts connections but never answers gets pages and the API a 503 within seconds, not a hang", async () => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const port = (silent.address() as { port: number }).port;
  const server = await startOwnServer(
    { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/rekey`, MAIL_TRANSPORT: "outbox", DATA_DIR: dataDir },
    { readyTimeoutMs: 60_000 },
  );
  try {
    const page = await timed(`${server.url}/forgot-password`);
    expect(page.response.status).toBe(503);
    expect(page.ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(page.body).toContain("Temporarily unavailable");
    const api = await forgotPassword(server);
    expect(api.response.status).toBe(503);
    expect(api.ms).toBeLessThan(ANSWER_WITHIN_MS);
  } finally {
    await server.stop();
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
});
