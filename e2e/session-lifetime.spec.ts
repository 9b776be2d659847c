// Sessions live as the README says: SESSION_MAX_AGE_DAYS (30) is an idle lifetime, renewed
// with the browser's cookie as the session is used; SESSION_ABSOLUTE_MAX_AGE_DAYS (90) ends a
// session however active it is. Time is moved by back-dating the session row (and the
// cookie), as if the sign-in had happened days ago.
import type { BrowserContext, Page } from "@playwright/test";
import type { Sql } from "postgres";
import { expect, signIn, test } from "./support/fixtures";

const SESSION_COOKIE = "authjs.session-token";
const DAY_MS = 24 * 60 * 60 * 1000;

async function sessionCookie(context: BrowserContext) {
  const cookie = (await context.cookies()).find((c) => c.name === SESSION_COOKIE);
  if (!cookie) throw new Error("no session cookie");
  return cookie;
}

/** Makes the user's only session look `createdDaysAgo` old, last renewed so that it expires in `expiresInDays`. */
async function backDate(db: Sql, context: BrowserContext, userId: string, createdDaysAgo: number, expiresInDays: number): Promise<void> {
  const updated = await db`
    update sessions
    set created_at = now() - make_interval(days => ${createdDaysAgo}),
        expires_at = now() + make_interval(days => ${expiresInDays})
    where user_id = ${userId}
    returning id`;
  expect(updated).toHaveLength(1);
  // The browser's cookie, as Auth.js set it at that sign-in.
  const cookie = await sessionCookie(context);
  await context.addCookies([{ ...cookie, expires: Math.floor((Date.now() + expiresInDays * DAY_MS) / 1000) }]);
}

async function rowExpiry(db: Sql, userId: string): Promise<number> {
  const [row] = await db`select expires_at from sessions where user_id = ${userId}`;
  return (row?.expires_at as Date).getTime();
}

/** The session cookie a page response sets, if any. */
async function setsSessionCookie(page: Page, path: string): Promise<boolean> {
  const response = await page.goto(path);
  const headers = (await response?.headersArray()) ?? [];
  return headers.some((h) => h.name.toLowerCase() === "set-cookie" && h.value.startsWith(`${SESSION_COOKIE}=`));
}

const near = (actual: number, expected: number) => Math.abs(actual - expected) < 5 * 60 * 1000;

test.describe("session lifetimes", () => {
  test("a session last renewed more than a day ago is renewed on any page, and its cookie re-issued for the idle lifetime", async ({ page, db, createUser }) => {
    const user = await createUser();
    await signIn(page, user);
    await backDate(db, page.context(), user.id, 2, 28);

    expect(await setsSessionCookie(page, "/")).toBe(true);
    const idleEnd = Date.now() + 30 * DAY_MS;
    expect(near((await sessionCookie(page.context())).expires * 1000, idleEnd)).toBe(true);
    expect(near(await rowExpiry(db, user.id), idleEnd)).toBe(true);

    // Renewed once a day, not on every request.
    expect(await setsSessionCookie(page, "/account")).toBe(false);
    await expect(page.getByTestId("account-email")).toHaveText(user.email);
  });

  test("renewal stops at the absolute lifetime, and past it the session is signed out however active", async ({ page, db, createUser }) => {
    const user = await createUser();
    await signIn(page, user);

    // 85 days old, last renewed days ago: renewed, but only up to day 90.
    await backDate(db, page.context(), user.id, 85, 3);
    expect(await setsSessionCookie(page, "/account")).toBe(true);
    await expect(page.getByTestId("account-email")).toHaveText(user.email);
    const absoluteEnd = Date.now() + 5 * DAY_MS;
    expect(near((await sessionCookie(page.context())).expires * 1000, absoluteEnd)).toBe(true);
    expect(near(await rowExpiry(db, user.id), absoluteEnd)).toBe(true);

    // 91 days old yet within its idle lifetime (as a session renewed before the cap existed
    // is): signed out all the same.
    await backDate(db, page.context(), user.id, 91, 29);
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
    const session = await page.request.get("/api/auth/session");
    expect(await session.json()).toBeNull();
  });
});
