// Sign-ins with the old password raced against a reset, a password change and "This wasn't
// me", from outside, as an attacker would run them: parallel loops through Auth.js's own
// credentials endpoint while the change is committed, then every cookie they obtained is
// checked against /api/auth/session once the change has answered. None may still sign in.
import type { Page } from "@playwright/test";
import { expect, test, uniqueIp, type Mailbox } from "../support/fixtures";
import { E2E } from "../support/settings";
import { PATHS, call, resetTokenFor } from "./support/api";

const SESSION_COOKIE = "authjs.session-token";
const NEXT_PASSWORD = "Raced-Password-42";
const LOOPS = 6;
const ROUNDS = 2;

const cookiePair = (setCookie: string): string => setCookie.split(";")[0] as string;

/** One sign-in through /api/auth/csrf + POST /api/auth/callback/credentials; the session token, or null. */
async function signInOnce(email: string, password: string): Promise<string | null> {
  // A client address of its own per attempt: the failures after the change must not throttle the rest.
  const ip = uniqueIp();
  const csrf = await fetch(`${E2E.appUrl}/api/auth/csrf`, { headers: { "x-forwarded-for": ip } });
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const answer = await fetch(`${E2E.appUrl}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      cookie: csrf.headers.getSetCookie().map(cookiePair).join("; "),
      "x-forwarded-for": ip,
    },
    body: new URLSearchParams({ email, password, csrfToken, callbackUrl: `${E2E.appUrl}/account` }),
  });
  await answer.arrayBuffer();
  const session = answer.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  const token = session ? cookiePair(session).slice(SESSION_COOKIE.length + 1) : "";
  return token === "" ? null : token;
}

/** The email /api/auth/session answers for a session token, or null when it is signed out. */
async function signedInAs(token: string): Promise<string | null> {
  const answer = await fetch(`${E2E.appUrl}/api/auth/session`, { headers: { cookie: `${SESSION_COOKIE}=${token}` } });
  const body = (await answer.json()) as { user?: { email?: string } } | null;
  return body?.user?.email ?? null;
}

/**
 * Runs LOOPS parallel sign-in loops with `password`, commits the change once they are signing
 * in, keeps each going until it has made one attempt begun after the change answered (so
 * every attempt in flight during the commit has ended), and returns every session token they
 * obtained.
 */
async function raceSignIns(email: string, password: string, commit: () => Promise<void>): Promise<string[]> {
  const tokens: string[] = [];
  let committed = false;
  const loop = async () => {
    for (;;) {
      const begunAfterCommit = committed;
      const token = await signInOnce(email, password);
      if (token) tokens.push(token);
      if (begunAfterCommit) return;
    }
  };
  const loops = Array.from({ length: LOOPS }, loop);
  // The loops are signing in (one has got a session), so the others are in flight at every
  // stage of their check when the change commits. Waited for, not slept on: on a busy
  // machine a fixed pause may end before any sign-in has got through argon2.
  try {
    await expect.poll(() => tokens.length, { message: "the loops sign in before the change", timeout: 30_000 }).toBeGreaterThan(0);
    await commit();
  } finally {
    // Also when something above failed: the loops end after one more attempt each.
    committed = true;
    await Promise.all(loops);
  }
  return tokens;
}

async function expectNoneSignedIn(tokens: string[]): Promise<void> {
  const alive: string[] = [];
  for (const token of tokens) if ((await signedInAs(token)) !== null) alive.push(token);
  expect(`${alive.length} of ${tokens.length} sessions still signed in`).toBe(`0 of ${tokens.length} sessions still signed in`);
}

/** Changes the password through the API with a session of its own; returns the fresh session token. */
async function changePasswordByApi(email: string, current: string, next: string): Promise<string> {
  const session = await signInOnce(email, current);
  expect(session, "signed in to change the password").toBeTruthy();
  const answer = await fetch(`${E2E.appUrl}${PATHS.change}`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie: `${SESSION_COOKIE}=${session}`, "x-forwarded-for": uniqueIp() },
    body: JSON.stringify({ current_password: current, new_password: next }),
  });
  expect(answer.status, await answer.clone().text()).toBe(200);
  const fresh = answer.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  expect(fresh, "a fresh session cookie").toBeTruthy();
  return cookiePair(fresh as string).slice(SESSION_COOKIE.length + 1);
}

async function confirmReport(page: Page, mailbox: Mailbox, email: string): Promise<() => Promise<void>> {
  const link = await mailbox.link(email, /password was changed/i, "/wasnt-me/");
  await page.goto(link);
  return async () => {
    await page.getByRole("button", { name: "Secure my account" }).click();
    await expect(page.getByRole("heading", { name: "Your account is secured" })).toBeVisible();
  };
}

test.describe("sign-ins racing a change of credentials", () => {
  test.describe.configure({ timeout: 90_000 });

  test("parallel sign-ins with the old password raced against a reset: no session they got survives it", async ({
    request,
    createUser,
    mailbox,
  }) => {
    for (let round = 1; round <= ROUNDS; round++) {
      const user = await createUser();
      const token = await resetTokenFor(request, mailbox, user.email);
      const tokens = await raceSignIns(user.email, user.password, async () => {
        const answer = await call(request, PATHS.reset, { json: { token, new_password: NEXT_PASSWORD } });
        expect(answer.status).toBe(200);
      });
      await expectNoneSignedIn(tokens);
      expect(await signInOnce(user.email, NEXT_PASSWORD)).toBeTruthy();
    }
  });

  test("parallel sign-ins with the old password raced against a change of password: none survives it but the changer's fresh session", async ({
    createUser,
  }) => {
    for (let round = 1; round <= ROUNDS; round++) {
      const user = await createUser();
      let fresh = "";
      const tokens = await raceSignIns(user.email, user.password, async () => {
        fresh = await changePasswordByApi(user.email, user.password, NEXT_PASSWORD);
      });
      await expectNoneSignedIn(tokens);
      expect(await signedInAs(fresh)).toBe(user.email);
    }
  });

  test('parallel sign-ins raced against "This wasn\'t me": no session they got survives it', async ({ page, createUser, mailbox }) => {
    for (let round = 1; round <= ROUNDS; round++) {
      const user = await createUser();
      // Someone changed the password; the loops sign in with it while the owner reports it.
      await changePasswordByApi(user.email, user.password, NEXT_PASSWORD);
      const commit = await confirmReport(page, mailbox, user.email);
      const tokens = await raceSignIns(user.email, NEXT_PASSWORD, commit);
      await expectNoneSignedIn(tokens);
    }
  });
});
