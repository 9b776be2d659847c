// Guessing one address from many IPs (issue 21, OWASP's device cookies), from outside: the
// per-address limit holds across IPs, answers an address without an account identically, and
// never locks out the owner's browser that signed in before; the owner hears about it.
import { request as playwrightRequest, type APIRequestContext, type BrowserContext, type Page } from "@playwright/test";
import { E2E } from "./support/settings";
import type { Sql } from "postgres";
import { expect, jobsAboutSettled, signIn, test, uniqueEmail, uniqueIp, type Mailbox } from "./support/fixtures";
import { enableTwoFactor } from "./support/two-factor";
import { enterCode, passwordStep } from "./support/two-factor-sign-in";

const WRONG_PASSWORD = "Wrong-Password-1";
const INCORRECT = "Incorrect email or password.";
const THROTTLED = /^Too many sign-in attempts\. Try again in \d+ minutes?\.$/;
const DEVICE_COOKIE = "rekey.device";
const SESSION_COOKIE = "authjs.session-token";
const NEW_DEVICE = /^New sign-in to your Rekey account$/;
const REPEATED_FAILURES = /^Repeated failed sign-ins to your Rekey account$/;
const REPEATED_WRONG_CODES = /^Repeated wrong two-factor codes on your Rekey account$/;
const WRONG_CODE = "That code is not right. Enter the code your authenticator app shows now.";
const TOO_MANY_CODES = /^Too many wrong codes for this account\. Try again in 1[45] minutes\.$/;
// SIGN_IN_FAILURES_PER_ACCOUNT_PER_HOUR's default, which the e2e server keeps.
const GUESSES = 40;
const LIMIT = 20;

/** The sign-in form's answer to `email` and `password`, sent from client address `ip`; its duration too. */
async function formAnswer(page: Page, email: string, password: string, ip: string): Promise<{ text: string; ip: string }> {
  await page.setExtraHTTPHeaders({ "x-forwarded-for": ip });
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  const alert = page.getByTestId("form-error");
  await expect(alert).toBeVisible();
  return { text: (await alert.textContent()) ?? "", ip };
}

/** Signs in through the form from `ip` and waits for the account page. */
async function formSignIn(page: Page, email: string, password: string, ip: string): Promise<void> {
  await page.setExtraHTTPHeaders({ "x-forwarded-for": ip });
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/account$/);
}

/** One POST /api/auth/callback/credentials from `ip`: its status and the `code` it redirects with. */
async function callbackAnswer(request: APIRequestContext, email: string, password: string, ip: string) {
  const { csrfToken } = (await (await request.get("/api/auth/csrf")).json()) as { csrfToken: string };
  const answer = await request.post("/api/auth/callback/credentials", {
    form: { email, password, csrfToken, callbackUrl: `${E2E.appUrl}/account` },
    headers: { "x-forwarded-for": ip },
    maxRedirects: 0,
  });
  const location = answer.headers().location ?? "";
  return { status: answer.status(), code: new URL(location, E2E.appUrl).searchParams.get("code"), location, ip, answer };
}

/** The emails to `to` whose subject matches, once every job about the address has finished. */
async function settledCount(db: Sql, mailbox: Mailbox, to: string, subject: RegExp): Promise<number> {
  await jobsAboutSettled(db, to);
  return (await mailbox.messages(to)).filter((m) => subject.test(m.subject)).length;
}

/**
 * The same work for every address: a password check for each of the first LIMIT guesses and
 * none past them. Each check that fails writes one user.sign_in_failed row with its IP.
 */
async function expectCheckedOnlyWithinLimit(db: Sql, guesses: { ip: string }[]): Promise<void> {
  const ips = guesses.map((g) => g.ip);
  const rows = await db`select ip from audit_events where event = 'user.sign_in_failed' and ip = any(${ips})`;
  expect(rows.map((r) => r.ip as string).sort()).toEqual(ips.slice(0, LIMIT).sort());
}

async function cookieNames(context: BrowserContext): Promise<string[]> {
  return (await context.cookies()).map((c) => c.name);
}

test.describe("guessing one address from many IPs", () => {
  test("40 wrong passwords from 40 IPs end throttled, identically for an address without an account", async ({ page, createUser, db }) => {
    // 81 form posts through a browser: about a minute on an idle 2-core machine, twice that under load.
    test.setTimeout(300_000);
    const user = await createUser();
    const nobody = uniqueEmail("nobody");
    const answers: Record<string, { text: string; ip: string }[]> = { known: [], unknown: [] };
    for (let i = 0; i < GUESSES; i++) {
      answers.known!.push(await formAnswer(page, user.email, WRONG_PASSWORD, uniqueIp()));
      answers.unknown!.push(await formAnswer(page, nobody, WRONG_PASSWORD, uniqueIp()));
    }
    for (const list of Object.values(answers)) {
      expect(list.slice(0, LIMIT).map((a) => a.text)).toEqual(Array(LIMIT).fill(INCORRECT));
      for (const answer of list.slice(LIMIT)) expect(answer.text).toMatch(THROTTLED);
    }
    // The same words; the wait may differ by the minute the two windows' starts straddle.
    const words = (list: { text: string }[]) => list.map((a) => a.text.replace(/\d+ minutes?/, "N minutes"));
    expect(words(answers.known!)).toEqual(words(answers.unknown!));
    const waits = (list: { text: string }[]) => list.slice(LIMIT).map((a) => Number(a.text.match(/(\d+) minute/)![1]));
    waits(answers.known!).forEach((wait, i) => expect(Math.abs(wait - waits(answers.unknown!)[i]!)).toBeLessThanOrEqual(1));
    // The same work: a password check for both while within the limit, none past it.
    for (const list of Object.values(answers)) await expectCheckedOnlyWithinLimit(db, list);

    // Past the limit even the right password is refused, from a browser that never signed in here.
    expect((await formAnswer(page, user.email, user.password, uniqueIp())).text).toMatch(THROTTLED);
  });

  test("the owner's browser that signed in before still signs in while the address is throttled; the owner gets the new-device and repeated-failures emails", async ({
    browser,
    page,
    createUser,
    mailbox,
    db,
  }) => {
    test.setTimeout(300_000);
    const user = await createUser();
    // The owner's browser: its first sign-in is from a device the account has never seen.
    const owner = await browser.newContext();
    const ownerPage = await owner.newPage();
    const ownerIp = uniqueIp();
    await formSignIn(ownerPage, user.email, user.password, ownerIp);
    expect(await cookieNames(owner)).toContain(DEVICE_COOKIE);
    const device = (await owner.cookies()).find((c) => c.name === DEVICE_COOKIE)!;
    expect(device).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/" });
    expect(device.expires * 1000 - Date.now()).toBeGreaterThan(360 * 24 * 60 * 60 * 1000);
    const notice = await mailbox.waitFor(user.email, NEW_DEVICE);
    expect(notice.text).toContain(ownerIp);
    expect(notice.text).toContain("Chrome");
    expect(notice.text).toMatch(/\/wasnt-me\/[A-Za-z0-9_-]{43}/);
    await owner.clearCookies({ name: SESSION_COOKIE });

    // Someone guesses from 40 IPs.
    for (let i = 0; i < GUESSES; i++) await formAnswer(page, user.email, WRONG_PASSWORD, uniqueIp());
    expect((await formAnswer(page, user.email, user.password, uniqueIp())).text).toMatch(THROTTLED);

    // The owner's browser is not locked out, and is not a new device.
    await formSignIn(ownerPage, user.email, user.password, uniqueIp());
    await mailbox.waitFor(user.email, REPEATED_FAILURES);
    expect(await settledCount(db, mailbox, user.email, REPEATED_FAILURES)).toBe(1);
    expect(await settledCount(db, mailbox, user.email, NEW_DEVICE)).toBe(1);

    // The new-device email's "This wasn't me" link opens the page that secures the account.
    await ownerPage.goto(notice.text.match(/https?:\/\/\S+\/wasnt-me\/[A-Za-z0-9_-]{43}/)![0]);
    await expect(ownerPage.getByRole("heading", { name: "Wasn't you?" })).toBeVisible();
    await expect(ownerPage.getByRole("button", { name: "Secure my account" })).toBeVisible();
    await owner.close();
  });

  test("the same through POST /api/auth/callback/credentials: throttled alike for an unknown address, the owner's client still signs in", async ({
    createUser,
    mailbox,
    db,
  }) => {
    test.setTimeout(120_000);
    const user = await createUser();
    const nobody = uniqueEmail("nobody");
    const ownerIp = uniqueIp();
    const owner = await playwrightRequest.newContext({ baseURL: E2E.appUrl });
    const first = await callbackAnswer(owner, user.email, user.password, ownerIp);
    expect(first.status).toBe(302);
    const setCookies = first.answer
      .headersArray()
      .filter((h) => h.name.toLowerCase() === "set-cookie")
      .map((h) => h.value);
    expect(setCookies.find((c) => c.startsWith(`${DEVICE_COOKIE}=`))).toMatch(/HttpOnly/i);
    await mailbox.waitFor(user.email, NEW_DEVICE);
    // The owner's client keeps its device cookie but no session, as after signing out.
    const kept = (await owner.storageState()).cookies.filter((c) => c.name !== SESSION_COOKIE);
    expect(kept.map((c) => c.name)).toContain(DEVICE_COOKIE);
    await owner.dispose();

    const guesser = await playwrightRequest.newContext({ baseURL: E2E.appUrl });
    const answers: Record<string, { status: number; code: string | null; ip: string }[]> = { known: [], unknown: [] };
    for (let i = 0; i < GUESSES; i++) {
      answers.known!.push(await callbackAnswer(guesser, user.email, WRONG_PASSWORD, uniqueIp()));
      answers.unknown!.push(await callbackAnswer(guesser, nobody, WRONG_PASSWORD, uniqueIp()));
    }
    const shape = (list: { status: number; code: string | null }[]) => list.map((a) => `${a.status} ${a.code}`);
    expect(shape(answers.known!)).toEqual(shape(answers.unknown!));
    expect(shape(answers.known!)).toEqual([...Array(LIMIT).fill("302 credentials"), ...Array(GUESSES - LIMIT).fill("302 rate_limited")]);
    for (const list of Object.values(answers)) await expectCheckedOnlyWithinLimit(db, list);
    expect(await mailbox.messages(nobody)).toEqual([]);

    // The right password from a client that never signed in: refused, no session.
    const stranger = await callbackAnswer(guesser, user.email, user.password, uniqueIp());
    expect(stranger.code).toBe("rate_limited");
    expect((await guesser.storageState()).cookies.map((c) => c.name)).not.toContain(SESSION_COOKIE);
    await guesser.dispose();

    // The owner's client, with its device cookie, signs in.
    const back = await playwrightRequest.newContext({ baseURL: E2E.appUrl, storageState: { cookies: kept, origins: [] } });
    const again = await callbackAnswer(back, user.email, user.password, uniqueIp());
    expect(again.status).toBe(302);
    expect(again.code).toBeNull();
    const session = (await (await back.get("/api/auth/session")).json()) as { user?: { email?: string } } | null;
    expect(session?.user?.email).toBe(user.email);
    await back.dispose();

    await mailbox.waitFor(user.email, REPEATED_FAILURES);
    expect(await settledCount(db, mailbox, user.email, REPEATED_FAILURES)).toBe(1);
    expect(await settledCount(db, mailbox, user.email, NEW_DEVICE)).toBe(1);
  });

  test("a guesser who knows the password keeps the account's code budget spent, yet the owner's browser passes with its right code; the owner is emailed once", async ({
    browser,
    page,
    createUser,
    mailbox,
    db,
  }) => {
    // Codes in a row may wait for the authenticator's next 30-second step.
    test.setTimeout(150_000);
    const user = await createUser();
    await signIn(page, user);
    const { authenticator } = await enableTwoFactor(page);
    await page.context().clearCookies({ name: SESSION_COOKIE });
    expect(await cookieNames(page.context())).toContain(DEVICE_COOKIE);

    const guesser = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-for": uniqueIp() } });
    const guesserPage = await guesser.newPage();
    await passwordStep(guesserPage, user);
    for (let i = 0; i < 5; i++) {
      await enterCode(guesserPage, authenticator.staleCode());
      await expect(guesserPage.getByText(WRONG_CODE)).toBeVisible();
    }
    await enterCode(guesserPage, authenticator.staleCode());
    await expect(guesserPage.getByTestId("form-error")).toHaveText(TOO_MANY_CODES);
    await guesser.close();

    // The owner's browser spends its own budget: its right code passes.
    await passwordStep(page, user);
    await enterCode(page, await authenticator.code());
    await expect(page).toHaveURL(/\/account$/);

    const notice = await mailbox.waitFor(user.email, REPEATED_WRONG_CODES);
    expect(notice.text).toMatch(/They\s+know\s+your\s+password/);
    expect(await settledCount(db, mailbox, user.email, REPEATED_WRONG_CODES)).toBe(1);
  });
});
