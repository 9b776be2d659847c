// Load shedding at the door: once ARGON2_MAX_QUEUE sign-ins wait for an argon2 run, proxy.ts
// turns new ones away with 503 and Retry-After before anything renders. Behaviour only, no
// timing: a production server of the test's own, with argon2 made slow (60 iterations) so that
// one sign-in holds the only slot long enough to be seen, and no room in the queue.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startOwnServer, type OwnServer } from "./api/support/own-server";
import { expect, test, uniqueEmail } from "./support/fixtures";

let server: OwnServer;
let dataDir: string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  dataDir = await mkdtemp(path.join(tmpdir(), "rekey-sign-in-load-"));
  server = await startOwnServer(
    {
      ALLOW_EMBEDDED_DATABASE: "1",
      DATA_DIR: dataDir,
      MAIL_TRANSPORT: "outbox",
      ARGON2_MAX_CONCURRENT: "1",
      ARGON2_MAX_QUEUE: "0",
      ARGON2_ITERATIONS: "60",
    },
    { readyTimeoutMs: 60_000 },
  );
});

test.afterAll(async () => {
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** One sign-in through Auth.js's credentials callback, as a client without the app's pages does. */
async function signIn(email: string): Promise<Response> {
  const csrf = await fetch(`${server.url}/api/auth/csrf`);
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const cookie = csrf.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  return fetch(`${server.url}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie },
    body: new URLSearchParams({ email, password: "Wrong-Password-1", csrfToken }),
  });
}

test("a sign-in that would have to wait for argon2 beyond ARGON2_MAX_QUEUE gets 503 with Retry-After at once, health still answers, and sign-in works again once the queue drains", async () => {
  test.setTimeout(120_000);
  // An unknown address holds the only argon2 slot (the dummy hash is made, then verified:
  // two slow runs); sign-ins keep arriving meanwhile, not waiting for each other, so some find
  // the slot taken and the queue (of size 0) full.
  const holder = signIn(uniqueEmail("holder"));
  const flood: Promise<Response>[] = [];
  const health: Promise<Response>[] = [];
  for (let i = 0; i < 40; i++) {
    flood.push(signIn(uniqueEmail("flood")));
    if (i % 10 === 0) health.push(fetch(`${server.url}/api/v1/health`));
    await new Promise((r) => setTimeout(r, 50));
  }
  const answers = await Promise.all(flood);

  expect((await holder).status).toBe(302);
  const turnedAway = answers.filter((r) => r.status === 503);
  expect(turnedAway.length).toBeGreaterThan(0);
  for (const response of turnedAway) {
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await response.json()).toMatchObject({ error: { code: "service_unavailable" } });
  }
  // Whatever got in was answered as a sign-in (a wrong password's redirect), never an error.
  for (const response of answers.filter((r) => r.status !== 503)) expect(response.status).toBe(302);
  for (const response of await Promise.all(health)) expect(response.status).toBe(200);

  // The queue drained: the next sign-in is checked, not turned away.
  const after = await signIn(uniqueEmail("after"));
  expect(after.status).toBe(302);
  expect(after.headers.get("location")).toContain("error=CredentialsSignin");
});
