import { randomBytes, randomUUID } from "node:crypto";
import { hash } from "@node-rs/argon2";
import { test as base, expect, type BrowserContext, type Page } from "@playwright/test";
import postgres, { type Sql } from "postgres";
import { E2E } from "./settings";
import { standIn, type DeliveredMessage } from "./stand-in";

export { expect };

export const STRONG_PASSWORD = "Correct-Horse-9";

/** A fresh address on a reserved domain; `prefix` "fail-" / "hang-" steers the Resend stand-in. */
export function uniqueEmail(prefix = "user"): string {
  return `${prefix}-${Date.now().toString(36)}${randomBytes(3).toString("hex")}@example.com`;
}

// Client addresses come from 198.18.0.0/15 (the benchmarking range), 8,128 for each of 16
// worker slots, handed out in order. The app counts its per-IP limits in the run's one
// database, which both workers share: random addresses could meet (a test that spends an
// address's budget makes another test's request from it fail); these never do.
const ADDRESSES_PER_WORKER = 32 * 254;
let addressesGiven = 0;

/** A client address no other test of the run uses, as the app's proxy would report it. */
export function uniqueIp(): string {
  const worker = Number(process.env.TEST_WORKER_INDEX ?? 0) % 16;
  const n = addressesGiven++ % ADDRESSES_PER_WORKER;
  const block = worker * 32 + Math.floor(n / 254);
  return `198.${18 + (block >> 8)}.${block & 255}.${(n % 254) + 1}`;
}

export interface Mailbox {
  /** Every message the app sent to `to` so far. */
  messages(to: string): Promise<DeliveredMessage[]>;
  /** Waits until `count` messages to `to` match `subject`, and returns the latest. */
  waitFor(to: string, subject: RegExp, count?: number): Promise<DeliveredMessage>;
  /** The reset link of the `count`th reset email to `to`. */
  resetLink(to: string, count?: number): Promise<string>;
  /** The token in that link. */
  resetToken(to: string, count?: number): Promise<string>;
  /** The first link to `path` (e.g. "/verify-email/") in the `count`th email matching `subject`. */
  link(to: string, subject: RegExp, path: string, count?: number): Promise<string>;
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
}

export interface NewUser {
  email?: string;
  /** STRONG_PASSWORD unless given; null for an account without a password. */
  password?: string | null;
  /** Confirmed unless false: only a confirmed account signs in. */
  confirmed?: boolean;
}

/**
 * Inserts a user into the database `sql` reaches: the run's (the `createUser` fixture, which
 * also deletes its users afterwards), or one a test made for a server of its own.
 */
export async function insertUser(sql: Sql, options?: NewUser & { password?: string }): Promise<TestUser>;
export async function insertUser(sql: Sql, options: NewUser & { password: null }): Promise<Omit<TestUser, "password">>;
export async function insertUser(sql: Sql, options: NewUser = {}): Promise<TestUser | Omit<TestUser, "password">> {
  const id = randomUUID();
  const email = options.email ?? uniqueEmail();
  const password = options.password === undefined ? STRONG_PASSWORD : options.password;
  const passwordHash = password === null ? null : await hash(password, { memoryCost: 19456, timeCost: 2, parallelism: 1, algorithm: 2 });
  const now = new Date();
  await sql`insert into users (id, email, password_hash, password_changed_at, email_verified_at)
    values (${id}, ${email}, ${passwordHash}, ${password === null ? null : now}, ${(options.confirmed ?? true) ? now : null})`;
  return password === null ? { id, email } : { id, email, password };
}

const mailbox: Mailbox = {
  messages: (to) => standIn.messages(to),
  async waitFor(to, subject, count = 1) {
    let found: DeliveredMessage[] = [];
    await expect
      .poll(
        async () => {
          found = (await mailbox.messages(to)).filter((m) => subject.test(m.subject));
          return found.length;
        },
        { message: `waiting for ${count} email(s) "${subject}" to ${to}`, timeout: 15_000 },
      )
      .toBeGreaterThanOrEqual(count);
    return found[count - 1] as DeliveredMessage;
  },
  async resetLink(to, count = 1) {
    return mailbox.link(to, /reset your rekey password/i, "/reset-password/", count);
  },
  async resetToken(to, count = 1) {
    return (await mailbox.resetLink(to, count)).split("/").at(-1) as string;
  },
  async link(to, subject, path, count = 1) {
    const message = await mailbox.waitFor(to, subject, count);
    const escaped = path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    const link = message.text.match(new RegExp(`https?://\\S+${escaped}[A-Za-z0-9_-]{43}`))?.[0];
    if (!link) throw new Error(`no ${path} link in:\n${message.text}`);
    return link;
  },
};

/** Marks the console line a page logs for each `securitypolicyviolation` event. */
const CSP_MARK = "[csp-violation]";

/**
 * Collects every Content-Security-Policy violation in `context`: the browser's own console
 * report (also with JavaScript off) and, with JavaScript on, each `securitypolicyviolation` event.
 */
async function watchCsp(context: BrowserContext, violations: string[]): Promise<void> {
  await context.addInitScript((mark) => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(`${mark} ${event.violatedDirective} blocked ${event.blockedURI || "inline"} (${event.sourceFile}:${event.lineNumber})`);
    });
  }, CSP_MARK);
  context.on("console", (message) => {
    const text = message.text();
    if (text.includes(CSP_MARK) || /Content Security Policy/i.test(text)) violations.push(`${message.page()?.url() ?? "?"}: ${text}`);
  });
}

export const test = base.extend<
  {
    ip: string;
    mailbox: Mailbox;
    /** A user with a password; its address is confirmed unless `confirmed: false` (only confirmed accounts sign in). */
    createUser: (options?: { email?: string; password?: string; confirmed?: boolean }) => Promise<TestUser>;
    cspViolations: string[];
  },
  { db: Sql }
>({
  // Every test, in every browser context it opens, fails on any CSP violation in the browser.
  cspViolations: [
    async ({ context, browser }, use) => {
      const violations: string[] = [];
      await watchCsp(context, violations);
      const newContext = browser.newContext.bind(browser);
      browser.newContext = async (options) => {
        const created = await newContext(options);
        await watchCsp(created, violations);
        return created;
      };
      try {
        await use(violations);
      } finally {
        browser.newContext = newContext;
      }
      expect(violations, "Content-Security-Policy violations in the browser").toEqual([]);
    },
    { auto: true },
  ],
  db: [
    async ({}, use) => {
      const sql = postgres(E2E.databaseUrl, { max: 2, onnotice: () => {} });
      await use(sql);
      await sql.end();
    },
    { scope: "worker" },
  ],
  ip: async ({}, use) => use(uniqueIp()),
  // Each test is a different client, so per-IP limits of one test never touch another.
  extraHTTPHeaders: async ({ ip }, use) => use({ "x-forwarded-for": ip }),
  mailbox: async ({}, use) => use(mailbox),
  createUser: async ({ db }, use) => {
    const created: string[] = [];
    await use(async (options = {}) => {
      const user = await insertUser(db, options);
      created.push(user.id);
      return user;
    });
    if (created.length > 0) await db`delete from users where id in ${db(created)}`;
  },
});

/**
 * Waits until no job about `email` or its account is pending or running. Every email is a job
 * written in the transaction of what it reports, so from then on every email about the address
 * has been sent: a test may count them.
 */
export async function jobsAboutSettled(db: Sql, email: string): Promise<void> {
  await expect
    .poll(
      async () =>
        (
          await db`select count(*)::int as n from jobs where status in ('pending', 'running')
            and (payload->>'email' = ${email} or payload->>'userId' = (select id from users where email = ${email}))`
        )[0]!.n,
      { timeout: 30_000 },
    )
    .toBe(0);
}

/**
 * Waits until the app has decided `count` reset requests from `ip` for addresses without an
 * account. Each is decided after its answer, by a job; from then on no email can come of it,
 * so a test may check that none came.
 */
export async function unknownAddressesDecided(db: Sql, ip: string, count = 1): Promise<void> {
  await expect
    .poll(
      async () =>
        (
          await db`select count(*)::int as n from audit_events where event = 'password_reset.requested' and ip = ${ip} and details->>'account_exists' = 'false'`
        )[0]?.n,
      { message: `waiting for ${count} reset request(s) from ${ip} to be decided`, timeout: 15_000 },
    )
    .toBe(count);
}

/** Signs in through the form, as a person would, and waits for the account page. */
export async function signIn(page: Page, user: { email: string; password: string }): Promise<void> {
  await page.goto("/login");
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password", { exact: true }).fill(user.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/account$/);
  // The URL changes before the account page has rendered: wait for it, so that nothing the
  // test does next (back-dating the session, say) races that render reading the session. A
  // trace of a failed run showed the render renew a session back-dated a moment before.
  await expect(page.getByTestId("account-email")).toBeVisible();
}
