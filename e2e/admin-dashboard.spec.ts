// The operators' dashboard and /api/metrics, from outside: a production server of its own on a
// fresh database (so no other spec's events change the figures), a scripted set of events, then
// the exact figures on the page (JavaScript off) and in the Prometheus text.
import { createHash, randomBytes } from "node:crypto";
import { startOwnServer, type OwnServer } from "./api/support/own-server";
import { expectNoSeriousViolations } from "./support/axe";
import { STRONG_PASSWORD, expect, insertUser, test, uniqueEmail } from "./support/fixtures";
import { freshDatabase } from "./support/fresh-database";
import { E2E } from "./support/settings";
import { standIn } from "./support/stand-in";
import { signInWithTwoFactorOn } from "./support/two-factor-sign-in";

const ADMIN = "admin@rekey.test";
const METRICS_TOKEN = "e2e-metrics-token-0123456789";

async function post(server: OwnServer, path: string, body: unknown): Promise<number> {
  return (await postJson(server, path, body)).status;
}

/** `ip`: the client address as a proxy reports it (refused links are audited once per address and hour). */
function postJson(server: OwnServer, path: string, body: unknown, ip?: string): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(ip ? { "x-forwarded-for": ip } : {}) },
    body: JSON.stringify(body),
  });
}

function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

test.describe("the recovery dashboard and metrics", () => {
  test.use({ javaScriptEnabled: false });

  test("a scripted set of events shows its exact figures on the dashboard and in /api/metrics", async ({ page, browser, mailbox }) => {
    test.setTimeout(120_000);
    const database = await freshDatabase("dash");
    let server: OwnServer | undefined;
    try {
      server = await startOwnServer({
        DATABASE_URL: database.url,
        AUTH_SECRET: createHash("sha256").update(database.url).digest("base64url"),
        RESEND_API_KEY: "re_e2e_stand_in",
        RESEND_BASE_URL: E2E.resendUrl,
        EMAIL_FROM: "Rekey <no-reply@rekey.test>",
        MAIL_SENDS_PER_SECOND: "100",
        JOBS_MAX_ATTEMPTS: "1",
        ADMIN_EMAILS: ADMIN,
        METRICS_TOKEN,
      });
      const completes = uniqueEmail("dash-completes");
      const expires = uniqueEmail("dash-expires");
      const undeliverable = uniqueEmail("dash-undeliverable");
      await insertUser(database.sql, { email: ADMIN });
      for (const email of [completes, expires, undeliverable]) await insertUser(database.sql, { email, password: null });
      // The provider refuses this address for good: one failed send, its job abandoned.
      await standIn.script(undeliverable, [{ status: 422 }]);

      for (const email of [completes, expires, undeliverable, uniqueEmail("dash-unknown")]) {
        expect(await post(server, "/api/v1/auth/forgot-password", { email })).toBe(202);
      }
      expect(
        await post(server, "/api/v1/auth/reset-password", { token: await mailbox.resetToken(completes), new_password: "Another-Horse-42" }),
      ).toBe(200);
      const stale = await mailbox.resetToken(expires);
      await database.sql`update password_reset_tokens set expires_at = now() - interval '1 minute' where user_id = (select id from users where email = ${expires})`;
      expect(await (await postJson(server, "/api/v1/auth/verify-reset-token", { token: stale }, "198.51.100.21")).json()).toMatchObject({
        valid: false,
        reason: "expired",
      });
      const unknown = randomBytes(32).toString("base64url");
      expect(await (await postJson(server, "/api/v1/auth/verify-reset-token", { token: unknown }, "198.51.100.22")).json()).toMatchObject({
        valid: false,
        reason: "invalid",
      });
      await expect
        .poll(async () => (await database.sql`select count(*)::int as n from audit_events where event = 'job.abandoned'`)[0]?.n, {
          timeout: 15_000,
        })
        .toBe(1);

      // /admin needs a session that passed a second factor: set up with scripts, then this page
      // (JavaScript off) takes the same cookie.
      const setUp = await browser.newContext({ javaScriptEnabled: true, baseURL: server.url });
      await signInWithTwoFactorOn(await setUp.newPage(), { email: ADMIN, password: STRONG_PASSWORD });
      await page.context().addCookies(await setUp.cookies());
      await setUp.close();
      await page.goto(`${server.url}/admin?period=24h`);
      await expect(page.getByRole("link", { name: "Last 24 hours" })).toHaveAttribute("aria-current", "page");
      const figure = (label: string) => page.locator(`dd[data-figure="${label}"]`);
      const expected: Record<string, string> = {
        "Reset requests": "4",
        "Reset emails sent": "2",
        "Resets completed": "1",
        "Success rate": "50%",
        "Links expired unused": "1",
        "Invalid link attempts": "1",
        "Emails failed": "1",
        "Emails retrying or abandoned": "0 retrying, 1 abandoned",
        "Throttled requests": "0",
        "Failed sign-ins": "0",
      };
      for (const [label, value] of Object.entries(expected)) {
        await expect(page.locator("dt", { hasText: label }).first()).toBeVisible();
        await expect(figure(label), label).toHaveText(value);
      }
      await expect(figure("Median time to reset")).toHaveText(/^\d+ s$/);

      // The chart is server-drawn SVG: present with JavaScript off, with today's bars and table row.
      const today = new Date().toISOString().slice(0, 10);
      await expect(page.getByTestId("daily-chart")).toBeVisible();
      await expect(page.locator('[data-testid="daily-chart"] rect[data-series="requests"][data-value="4"]')).toHaveCount(1);
      await expect(page.getByTestId("daily-table").getByRole("row", { name: `${today} 4 1` })).toBeVisible();
      // axe runs as a script: in a browser with JavaScript, signed in as the same admin.
      const withScripts = await browser.newContext({ javaScriptEnabled: true });
      await withScripts.addCookies(await page.context().cookies());
      const scripted = await withScripts.newPage();
      await scripted.goto(`${server.url}/admin?period=24h`);
      await expect(scripted.getByRole("heading", { name: "Recovery dashboard" })).toBeVisible();
      await expectNoSeriousViolations(scripted);
      await withScripts.close();

      // The period is a plain link.
      await page.getByRole("link", { name: "Last 30 days" }).click();
      await expect(page).toHaveURL(/period=30d/);
      await expect(page.getByTestId("daily-table").getByRole("row")).toHaveCount(32);
      await expect(figure("Reset requests")).toHaveText("4");

      const scrape = async () => {
        const metrics = await fetch(`${server!.url}/api/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
        expect(metrics.status).toBe(200);
        return metrics.text();
      };
      const sends = (text: string, outcome: string) =>
        sample(text, `rekey_email_send_duration_seconds_count{transport="resend",outcome="${outcome}"}`);
      // Two reset emails, the "password changed" notice of the completed reset (sent after its
      // answer), the admin's "new sign-in" notice (the set-up browser had never signed in) and
      // "two-factor turned on" notice.
      await expect.poll(async () => sends(await scrape(), "sent"), { timeout: 15_000 }).toBe(5);
      const text = await scrape();
      const events = (event: string) => sample(text, `rekey_events_total{event="${event}"}`);
      expect({
        requested: events("password_reset.requested"),
        sent: events("password_reset.email_sent"),
        completed: events("password_reset.completed"),
        expired: events("password_reset.token_expired"),
        invalid: events("password_reset.token_invalid"),
        failed: events("password_reset.email_failed"),
        abandoned: events("job.abandoned"),
      }).toEqual({ requested: 4, sent: 2, completed: 1, expired: 1, invalid: 1, failed: 1, abandoned: 1 });
      expect(sends(text, "failed")).toBe(1);
      expect(sample(text, 'rekey_jobs{status="pending"}')).toBe(0);
      expect(sample(text, 'rekey_jobs{status="failed"}')).toBe(1);
      expect((await fetch(`${server.url}/api/metrics`)).status).toBe(401);
    } finally {
      await server?.stop();
      await database.drop();
    }
  });
});
