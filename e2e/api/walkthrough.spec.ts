import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser } from "@playwright/test";
import { STRONG_PASSWORD, expect, signIn, test, uniqueEmail } from "../support/fixtures";
import { startOwnServer } from "./support/own-server";

/** The outbox transport's messages: one JSON file each. */
async function readOutbox(dir: string): Promise<{ to: string; subject: string; text: string }[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return Promise.all(names.filter((n) => n.endsWith(".json")).map(async (n) => JSON.parse(await readFile(path.join(dir, n), "utf8"))));
}

// The docs/api.md section whose one ```bash block is the API walkthrough.
const WALKTHROUGH_DOC = "docs/api.md";
const WALKTHROUGH_HEADING = "## Walkthrough with curl";

/** The ```bash blocks of the walkthrough section: from its heading to the next "## " one (bash comments start with "# "). */
function bashBlocks(markdown: string): string[] {
  const start = markdown.indexOf(WALKTHROUGH_HEADING);
  if (start < 0) return [];
  const rest = markdown.slice(start + WALKTHROUGH_HEADING.length);
  const end = rest.search(/^## /m);
  const section = end === -1 ? rest : rest.slice(0, end);
  return [...section.matchAll(/^```bash\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? "");
}

/** Runs a script as `bash -euo pipefail` with only `env` (and PATH, HOME) set. */
function runBash(script: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-euo", "pipefail", "-c", script], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as unknown as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function signInFails(browser: Browser, baseURL: string, user: { email: string; password: string }): Promise<void> {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password", { exact: true }).fill(user.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByTestId("form-error")).toHaveText("Incorrect email or password.");
  await context.close();
}

test("the API section's curl walkthrough runs as written, and the new password signs in on the web page", async ({ browser }) => {
  test.setTimeout(120_000);
  const blocks = bashBlocks(await readFile(WALKTHROUGH_DOC, "utf8"));
  expect(blocks, `${WALKTHROUGH_DOC} "${WALKTHROUGH_HEADING}" has exactly one bash block`).toHaveLength(1);

  // As `npm run dev` runs it: embedded database and mail outbox in the data folder, no Resend
  // (a production build runs that way only when told to).
  const dataDir = await mkdtemp(path.join(tmpdir(), "rekey-walkthrough-"));
  // A fresh embedded database is created before the server answers: ~3 s idle, 15 s and more on a busy machine.
  const server = await startOwnServer(
    { DATA_DIR: dataDir, ALLOW_EMBEDDED_DATABASE: "1", MAIL_TRANSPORT: "outbox" },
    { readyTimeoutMs: 60_000 },
  );
  try {
    const user = { email: uniqueEmail("walkthrough"), password: STRONG_PASSWORD };
    const newPassword = "Walkthrough-Pass-2026#";

    // The step the section leaves to the reader: create the account on the web page.
    const registration = await browser.newContext({ baseURL: server.url });
    const page = await registration.newPage();
    await page.goto("/register");
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByLabel("Confirm password").fill(user.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("register-answer")).toBeVisible();
    await registration.close();
    // The account is created just after that answer; its verification email says it exists.
    await expect
      .poll(
        async () =>
          (await readOutbox(path.join(dataDir, "outbox"))).some((m) => m.to === user.email && /confirm your email/i.test(m.subject)),
        {
          timeout: 15_000,
        },
      )
      .toBe(true);

    // An app signed in with the old password before the reset: the account is confirmed first
    // (its emailed link, with the password), as a person would before using an app.
    const verification = (await readOutbox(path.join(dataDir, "outbox"))).find(
      (m) => m.to === user.email && /confirm your email/i.test(m.subject),
    );
    const verifyPath = verification?.text.match(/\/verify-email\/[\w-]{43}/)?.[0];
    expect(verifyPath).toBeTruthy();
    const confirming = await browser.newContext({ baseURL: server.url });
    const confirmPage = await confirming.newPage();
    await confirmPage.goto(verifyPath!);
    await confirmPage.getByLabel("Password").fill(user.password);
    await confirmPage.getByRole("button", { name: "Confirm email address" }).click();
    await expect(confirmPage).toHaveURL(/verified=1/);
    await confirming.close();
    const before = await fetch(`${server.url}/api/v1/auth/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: user.email, password: user.password, client_name: "before the reset" }),
    });
    expect(before.status).toBe(200);
    const oldToken = ((await before.json()) as { access_token: string }).access_token;
    const me = (token: string) => fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect((await me(oldToken)).status).toBe(200);

    const run = await runBash(blocks[0] ?? "", {
      BASE: server.url,
      OUTBOX: path.join(dataDir, "outbox"),
      EMAIL: user.email,
      NEW_PASSWORD: newPassword,
    });
    expect(run.code, run.output).toBe(0);
    // What the comments in the block say the reader will see.
    expect(run.output).toContain('{"status":"ok","database":"ok"}');
    expect(run.output).toContain('"valid":true');
    expect(run.output).toContain('"second_factor_required":false');
    expect(run.output).toContain('{"valid":false,"reason":"used"}');
    expect(run.output).toContain('"email_verified":true');
    expect(run.output).toMatch(/^204$/m);

    // The token taken with the old password died with the reset.
    const after = await me(oldToken);
    expect(after.status).toBe(401);
    expect(after.headers.get("www-authenticate")).toBe('Bearer realm="rekey", error="invalid_token"');
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe("invalid_token");

    const signedIn = await browser.newContext({ baseURL: server.url });
    await signIn(await signedIn.newPage(), { email: user.email, password: newPassword });
    await signedIn.close();
    await signInFails(browser, server.url, user);
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
