import { createHash, randomBytes } from "node:crypto";
import type { Page, Response } from "@playwright/test";
import type { Sql } from "postgres";
import { startOwnServer } from "./api/support/own-server";
import { expect, insertUser, signIn, test, type TestUser } from "./support/fixtures";
import { freshDatabase } from "./support/fresh-database";

// Every page the app serves, with and without JavaScript: the per-request nonce policy and
// the other security headers, Next's scripts carrying the nonce, and (through the global
// fixture) not one CSP violation in the browser.

const rawToken = () => randomBytes(32).toString("base64url");
const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");

/** A live link of each kind for `user`, inserted as the app would store it. */
async function links(db: Sql, user: TestUser): Promise<{ reset: string; verify: string; wasntMe: string }> {
  const [reset, verify, wasntMe] = [rawToken(), rawToken(), rawToken()];
  const expires = new Date(Date.now() + 60 * 60 * 1000);
  await db`insert into password_reset_tokens (user_id, token_hash, expires_at) values (${user.id}, ${sha256(reset)}, ${expires})`;
  await db`insert into email_verification_tokens (user_id, token_hash, expires_at, email) values (${user.id}, ${sha256(verify)}, ${expires}, ${user.email})`;
  await db`insert into password_change_report_tokens (user_id, token_hash, expires_at) values (${user.id}, ${sha256(wasntMe)}, ${expires})`;
  return { reset: `/reset-password/${reset}`, verify: `/verify-email/${verify}`, wasntMe: `/wasnt-me/${wasntMe}` };
}

const PUBLIC_PAGES = ["/", "/login", "/register", "/forgot-password", `/reset-password/${"A".repeat(43)}`, "/no-such-page"];
const ACCOUNT_PAGES = ["/account", "/account/password", "/account/sessions"];

/** The nonce in a page's policy, after checking every directive the issue asks for. */
function expectPagePolicy(response: Response): string {
  const headers = response.headers();
  const policy = headers["content-security-policy"] ?? "";
  const nonce = policy.match(/script-src 'self' 'nonce-([A-Za-z0-9+/]+=*)' 'strict-dynamic'(;|$)/)?.[1];
  expect(nonce, `script-src with a nonce and 'strict-dynamic' in: ${policy}`).toBeTruthy();
  for (const directive of ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"]) {
    expect(policy.split(/;\s*/)).toContain(directive);
  }
  expect(policy).not.toContain("unsafe-inline");
  expect(policy).not.toContain("unsafe-eval");
  expect(headers["cross-origin-opener-policy"]).toBe("same-origin");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  // The e2e server runs on http://localhost: HSTS there would pin https on every local port.
  expect(headers["strict-transport-security"]).toBeUndefined();
  return nonce as string;
}

/** Every <script> in the served HTML carries this response's nonce. */
async function expectScriptsNonced(response: Response, nonce: string): Promise<void> {
  const html = await response.text();
  const scripts = html.match(/<script\b[^>]*>/g) ?? [];
  expect(scripts.length, "Next.js renders its scripts into every page").toBeGreaterThan(0);
  for (const tag of scripts) expect(tag, "a script tag without this response's nonce").toContain(`nonce="${nonce}"`);
}

async function visit(page: Page, path: string): Promise<Response> {
  const response = await page.goto(path);
  if (!response) throw new Error(`no response for ${path}`);
  return response;
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(`security headers, JavaScript ${javaScriptEnabled ? "on" : "off"}`, () => {
    test.use({ javaScriptEnabled });

    async function expectSecurePage(page: Page, path: string): Promise<void> {
      const response = await visit(page, path);
      const nonce = expectPagePolicy(response);
      await expectScriptsNonced(response, nonce);
      if (javaScriptEnabled) {
        // Next's client runtime ran (it sets window.next), so the nonce let its scripts through.
        await page.waitForFunction(() => Boolean((window as unknown as { next?: { version?: string } }).next?.version));
      }
    }

    test("every public page and every link page sends the nonce policy, COOP and nosniff, and runs no blocked code", async ({
      page,
      createUser,
      db,
    }) => {
      const user = await createUser();
      const linkPages = await links(db, user);
      for (const path of [...PUBLIC_PAGES, linkPages.reset, linkPages.wasntMe]) await expectSecurePage(page, path);
      // A link page keeps its own headers on top.
      const reset = await visit(page, linkPages.reset);
      expect(reset.headers()["referrer-policy"]).toBe("no-referrer");
      expect(reset.headers()["cache-control"]).toContain("no-store");
    });

    test("every signed-in page sends the nonce policy too", async ({ page, createUser }) => {
      await signIn(page, await createUser());
      for (const path of ACCOUNT_PAGES) await expectSecurePage(page, path);
    });

    test("the verify-email link page sends the nonce policy", async ({ page, createUser, db }) => {
      const user = await createUser();
      await expectSecurePage(page, (await links(db, user)).verify);
    });
  });
}

test("each response gets a nonce of its own", async ({ request }) => {
  const nonces = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const policy = (await request.get("/login")).headers()["content-security-policy"] ?? "";
    nonces.add(policy.match(/'nonce-([^']+)'/)?.[1] ?? "");
  }
  expect(nonces.size).toBe(3);
});

test("the policy blocks an injected inline event handler, and the CSP guard records the violation", async ({ page, cspViolations }) => {
  await visit(page, "/login");
  // What an HTML injection would add; 'strict-dynamic' trusts scripts that scripts create, but
  // never inline handlers.
  await page.evaluate(() => document.body.insertAdjacentHTML("beforeend", '<img src="data:," alt="" onerror="window.injected = true">'));
  await expect.poll(() => cspViolations.length).toBeGreaterThan(0);
  expect(await page.evaluate(() => "injected" in window)).toBe(false);
  expect(cspViolations.join("\n")).toContain("script-src");
  // This test's violation was its point; the guard still checks whatever else happened.
  cspViolations.length = 0;
});

test.describe("with an https APP_URL (a production server of its own, driven over http by fetch)", () => {
  test("sends HSTS and upgrade-insecure-requests, and names the session cookie __Host-", async () => {
    test.setTimeout(90_000);
    const database = await freshDatabase("https");
    const server = await startOwnServer({ APP_URL: "https://rekey.example.com", DATABASE_URL: database.url, MAIL_TRANSPORT: "outbox" });
    try {
      // Once the server is up: it applies the migrations at start.
      const user = await insertUser(database.sql);
      const page = await fetch(`${server.url}/login`);
      expect(page.status).toBe(200);
      expect(page.headers.get("strict-transport-security")).toBe("max-age=63072000; includeSubDomains");
      expect(page.headers.get("content-security-policy")).toContain("upgrade-insecure-requests");

      const csrf = await fetch(`${server.url}/api/auth/csrf`);
      const { csrfToken } = (await csrf.json()) as { csrfToken: string };
      const csrfCookie = csrf.headers
        .getSetCookie()
        .map((c) => c.split(";")[0])
        .join("; ");
      const signedIn = await fetch(`${server.url}/api/auth/callback/credentials`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: csrfCookie },
        body: new URLSearchParams({ email: user.email, password: user.password, csrfToken }),
      });
      const session = signedIn.headers.getSetCookie().find((c) => c.includes("authjs.session-token="));
      expect(session, `a session cookie among: ${signedIn.headers.getSetCookie().join(" | ")}`).toBeDefined();
      expect(session).toMatch(/^__Host-authjs\.session-token=[^;]+;/);
      expect(session).toMatch(/; Path=\/(;|$)/);
      expect(session).toMatch(/; Secure(;|$)/i);
      expect(session).not.toMatch(/; Domain=/i);
    } finally {
      await server.stop();
      await database.drop();
    }
  });
});
