// Sessions live as the README says: SESSION_MAX_AGE_DAYS (30) is an idle lifetime, renewed
// with the browser's cookie as the session is used; SESSION_ABSOLUTE_MAX_AGE_DAYS (90) ends a
// session however active it is. Time is moved by back-dating the session row (and the
// cookie), as if the sign-in had happened days ago.
import type { BrowserContext, Page } from "@playwright/test";
import type { Sql } from "postgres";
import { expect, signIn, test } from "./support/fixtures";
import { E2E } from "./support/settings";

const SESSION_COOKIE = "authjs.session-token";
const DAY_MS = 24 * 60 * 60 * 1000;

async function sessionCookie(context: BrowserContext) {
  const cookie = (await context.cookies()).find((c) => c.name === SESSION_COOKIE);
  if (!cookie) throw new Error("no session cookie");
  return cookie;
}

/**
 * Keeps Next.js's link prefetches from reaching the server. Any request renews a session that
 * is due, and a prefetch still being served after backDate renews it with a response the
 * browser never stores (the page is gone by then): the row moves, the cookie does not, and the
 * next page finds nothing due. They come in waves seconds apart, so waiting for the network to
 * go quiet does not catch them all (seen in CI on a slow machine).
 */
async function withoutPrefetches(page: Page): Promise<void> {
  await page.route("**/*", (route) => (route.request().headers()["next-router-prefetch"] ? route.abort() : route.fallback()));
}

/** Makes the user's only session look `createdDaysAgo` old, last renewed so that it expires in `expiresInDays`. */
async function backDate(db: Sql, page: Page, userId: string, createdDaysAgo: number, expiresInDays: number): Promise<void> {
  // Off the app first, once its page has finished loading: any page request renews, and one
  // still in flight after the back-dating would renew with a response the test never sees.
  await page.waitForLoadState("networkidle");
  await page.goto("about:blank");
  const context = page.context();
  const updated = await db`
    update sessions
    set created_at = now() - make_interval(days => ${createdDaysAgo}),
        expires_at = now() + make_interval(days => ${expiresInDays})
    where user_id = ${userId}
    returning id`;
  expect(updated).toHaveLength(1);
  // The browser's cookie, as Auth.js set it at that sign-in. By `url`, not `domain`: that
  // keeps it host-only, so it replaces the cookie instead of adding a second one beside it.
  const { name, value, httpOnly, sameSite } = await sessionCookie(context);
  await context.addCookies([
    { name, value, httpOnly, sameSite, url: E2E.appUrl, expires: Math.floor((Date.now() + expiresInDays * DAY_MS) / 1000) },
  ]);
  expect((await context.cookies()).filter((c) => c.name === SESSION_COOKIE)).toHaveLength(1);
}

async function rowExpiry(db: Sql, userId: string): Promise<number> {
  const [row] = await db`select expires_at from sessions where user_id = ${userId}`;
  return (row?.expires_at as Date).getTime();
}

/** When the browser's session cookie expires, in ms since the epoch. */
async function cookieExpiry(page: Page): Promise<number> {
  return (await sessionCookie(page.context())).expires * 1000;
}

/** Within five minutes: the test's clock, the database's and the cookie's rounding agree that well. */
const near = (actual: number, expected: number) => Math.abs(actual - expected) < 5 * 60 * 1000;

test.describe("session lifetimes", () => {
  test.beforeEach(async ({ page }) => withoutPrefetches(page));

  test("a session last renewed more than a day ago is renewed on any page, and its cookie re-issued for the idle lifetime", async ({
    page,
    db,
    createUser,
  }) => {
    const user = await createUser();
    await signIn(page, user);
    await backDate(db, page, user.id, 2, 28);

    // The browser's cookie (from the sign-in, 28 days left) is the one the response set again.
    await page.goto("/");
    const idleEnd = Date.now() + 30 * DAY_MS;
    // Polled: the browser stores a response's cookie a moment after the page has loaded.
    await expect.poll(async () => near(await cookieExpiry(page), idleEnd)).toBe(true);
    const renewed = await rowExpiry(db, user.id);
    expect(near(renewed, idleEnd)).toBe(true);

    // Renewed once a day, not on every request.
    await page.goto("/account");
    expect(await rowExpiry(db, user.id)).toBe(renewed);
    await expect(page.getByTestId("account-email")).toHaveText(user.email);
  });

  test("renewal stops at the absolute lifetime, and past it the session is signed out however active", async ({ page, db, createUser }) => {
    const user = await createUser();
    await signIn(page, user);

    // 85 days old, last renewed days ago: renewed, but only up to day 90.
    await backDate(db, page, user.id, 85, 3);
    await page.goto("/account");
    await expect(page.getByTestId("account-email")).toHaveText(user.email);
    const absoluteEnd = Date.now() + 5 * DAY_MS;
    await expect.poll(async () => near(await cookieExpiry(page), absoluteEnd)).toBe(true);
    expect(near(await rowExpiry(db, user.id), absoluteEnd)).toBe(true);

    // 91 days old yet within its idle lifetime (as a session renewed before the cap existed
    // is): signed out all the same.
    await backDate(db, page, user.id, 91, 29);
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
    const session = await page.request.get("/api/auth/session");
    expect(await session.json()).toBeNull();
  });
});
