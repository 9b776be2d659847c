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
  const cookie = csrf.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
  return fetch(`${server.url}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie },
    body: new URLSearchParams({ email, password: "Wrong-Password-1", csrfToken }),
  });
}

/** One sign-in through the form without JavaScript: a multipart post of the page's own fields. */
async function signInWithForm(email: string, formFields: Record<string, string>): Promise<Response> {
  const body = new FormData();
  for (const [name, value] of Object.entries({ ...formFields, email, password: "Wrong-Password-1" })) body.append(name, value);
  return fetch(`${server.url}/login`, { method: "POST", redirect: "manual", headers: { origin: server.url }, body });
}

/** The hidden fields React renders into the sign-in form (the server action's id and state). */
async function loginFormFields(): Promise<Record<string, string>> {
  const html = await (await fetch(`${server.url}/login`)).text();
  const fields: Record<string, string> = {};
  for (const [input] of html.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = input.match(/name="([^"]*)"/)?.[1];
    const value = (input.match(/value="([^"]*)"/)?.[1] ?? "").replace(/&quot;/g, '"').replace(/&amp;/g, "&");
    if (name) fields[name] = value;
  }
  return fields;
}

test("a sign-in that would have to wait for argon2 beyond ARGON2_MAX_QUEUE gets 503 with Retry-After at once, health still answers, and sign-in works again once the queue drains", async () => {
  test.setTimeout(120_000);
  // An unknown address takes the only argon2 slot (the dummy hash is made, then verified: two
  // slow runs); sign-ins keep arriving meanwhile, not waiting for each other, so some find the
  // slot taken and the queue (of size 0) full.
  const formFields = await loginFormFields();
  const holder = signIn(uniqueEmail("holder"));
  const flood: Promise<Response>[] = [];
  const formFlood: Promise<Response>[] = [];
  const health: Promise<Response>[] = [];
  for (let i = 0; i < 40; i++) {
    flood.push(signIn(uniqueEmail("flood")));
    formFlood.push(signInWithForm(uniqueEmail("form"), formFields));
    if (i % 10 === 0) health.push(fetch(`${server.url}/api/v1/health`));
    await new Promise((r) => setTimeout(r, 50));
  }
  // The holder too may find the slot taken (a form post can overtake it): it counts as any other.
  const answers = await Promise.all([holder, ...flood]);

  const turnedAway = answers.filter((r) => r.status === 503);
  expect(turnedAway.length).toBeGreaterThan(0);
  for (const response of turnedAway) {
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await response.json()).toMatchObject({ error: { code: "service_unavailable" } });
  }
  // Whatever got in was answered as a sign-in (a wrong password's redirect), never an error.
  for (const response of answers.filter((r) => r.status !== 503)) expect(response.status).toBe(302);
  for (const response of await Promise.all(health)) expect(response.status).toBe(200);

  // The form without JavaScript: turned away with a page that says so, or answered as a sign-in.
  const formAnswers = await Promise.all(formFlood);
  expect(formAnswers.some((r) => r.status === 503)).toBe(true);
  for (const response of formAnswers) {
    const text = await response.text();
    if (response.status === 503) {
      expect(response.headers.get("retry-after")).toBe("1");
      expect(text).toContain("Too many sign-ins right now");
    } else {
      expect(response.status).toBe(200);
      expect(text).toContain("Incorrect email or password.");
    }
  }

  // The queue drained: the next sign-in is checked, not turned away.
  const after = await signIn(uniqueEmail("after"));
  expect(after.status).toBe(302);
  expect(after.headers.get("location")).toContain("error=CredentialsSignin");
});
