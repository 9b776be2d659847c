// Sign-in for apps and command-line tools (issue 20), against the production build: the token
// answers, what the token can do, and that an app's session is one row of the sessions page.
import { expectNoSeriousViolations } from "../support/axe";
import { STRONG_PASSWORD, expect, signIn, test, uniqueEmail, uniqueIp } from "../support/fixtures";
import { enableTwoFactor } from "../support/two-factor";
import { PATHS, bearerTokenFor, call, errorCode, expectContract } from "./support/api";

const NEW_PASSWORD = "Fresh-Start-2026!";
const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const signInOp = { method: "post", path: PATHS.signIn } as const;

test.describe("signing an app in over the API", () => {
  test("answers a bearer token that reads /me and the sessions list, changes the password and signs out", async ({
    request,
    createUser,
  }) => {
    const user = await createUser({ password: STRONG_PASSWORD });
    const answer = await call(request, PATHS.signIn, {
      json: { email: user.email, password: STRONG_PASSWORD, client_name: "Rekey CLI on build-box" },
      headers: { "x-forwarded-for": uniqueIp(), "user-agent": "rekey-cli/1.0" },
    });
    expect(answer.status).toBe(200);
    await expectContract(answer, signInOp);
    expect(answer.headers["cache-control"]).toContain("no-store");
    const body = answer.body as { access_token: string; token_type: string; expires_in: number; user: { id: string; email: string } };
    expect(body.token_type).toBe("Bearer");
    expect(body.access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.expires_in).toBeGreaterThan(24 * 3600);
    expect(body.user).toEqual({ id: user.id, email: user.email });
    const token = body.access_token;

    const me = await call(request, PATHS.me, { method: "GET", headers: auth(token) });
    expect(me.status).toBe(200);
    await expectContract(me, { method: "get", path: PATHS.me });
    expect(me.body).toMatchObject({ id: user.id, email: user.email, email_verified: true, two_factor_enabled: false });

    const list = await call(request, PATHS.sessions, { method: "GET", headers: auth(token) });
    await expectContract(list, { method: "get", path: PATHS.sessions });
    expect((list.body as { sessions: unknown[] }).sessions).toEqual([
      expect.objectContaining({ kind: "app", client_name: "Rekey CLI on build-box", current: true, user_agent: "rekey-cli/1.0" }),
    ]);

    // Change the password by bearer: no Origin check, a fresh token answers, the old one ends.
    const other = await bearerTokenFor(request, user, "another app");
    const changed = await call(request, PATHS.change, {
      json: { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD },
      headers: { ...auth(token), origin: "https://evil.example" },
    });
    expect(changed.status, changed.text).toBe(200);
    await expectContract(changed, { method: "post", path: PATHS.change });
    const fresh = (changed.body as { access_token: string }).access_token;
    expect(fresh).not.toBe(token);
    for (const ended of [token, other]) {
      const refused = await call(request, PATHS.me, { method: "GET", headers: auth(ended) });
      expect(refused.status).toBe(401);
      expect(refused.headers["www-authenticate"]).toBe('Bearer realm="rekey", error="invalid_token"');
    }
    const after = await call(request, PATHS.sessions, { method: "GET", headers: auth(fresh) });
    expect((after.body as { sessions: unknown[] }).sessions).toEqual([
      expect.objectContaining({ kind: "app", client_name: "Rekey CLI on build-box", current: true }),
    ]);

    const out = await call(request, PATHS.signOut, { method: "POST", headers: auth(fresh) });
    expect(out.status).toBe(204);
    expect(out.text).toBe("");
    expect((await call(request, PATHS.me, { method: "GET", headers: auth(fresh) })).status).toBe(401);
  });

  test("a wrong password, an unknown address and an unconfirmed account get one answer; then 429 with Retry-After", async ({
    request,
    createUser,
  }) => {
    const user = await createUser({ password: STRONG_PASSWORD });
    const unconfirmed = await createUser({ password: STRONG_PASSWORD, confirmed: false });
    const ip = uniqueIp();
    const bodies = [];
    for (const json of [
      { email: user.email, password: "Wrong-Pass-2026!" },
      { email: uniqueEmail("nobody"), password: STRONG_PASSWORD },
      { email: unconfirmed.email, password: STRONG_PASSWORD },
    ]) {
      const result = await call(request, PATHS.signIn, { json, headers: { "x-forwarded-for": uniqueIp() } });
      expect(result.status).toBe(401);
      await expectContract(result, signInOp);
      bodies.push(result.text);
    }
    expect(new Set(bodies).size).toBe(1);
    expect((JSON.parse(bodies[0]!) as { error: { code: string } }).error.code).toBe("invalid_credentials");

    // The browser's per-address-and-IP limit: 10 failures per 15 minutes.
    for (let i = 0; i < 10; i++) {
      await call(request, PATHS.signIn, { json: { email: user.email, password: `Wrong-${i}-Pass!` }, headers: { "x-forwarded-for": ip } });
    }
    const limited = await call(request, PATHS.signIn, {
      json: { email: user.email, password: STRONG_PASSWORD },
      headers: { "x-forwarded-for": ip },
    });
    expect(limited.status).toBe(429);
    await expectContract(limited, signInOp);
    expect(errorCode(limited)).toBe("rate_limited");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
  });

  test("a two-factor account answers second_factor_required, then the code signs in once", async ({ page, request, createUser }) => {
    const user = await createUser({ password: STRONG_PASSWORD });
    await signIn(page, user);
    const { authenticator } = await enableTwoFactor(page);

    const first = await call(request, PATHS.signIn, {
      json: { email: user.email, password: STRONG_PASSWORD, client_name: "Phone app" },
      headers: { "x-forwarded-for": uniqueIp() },
    });
    expect(first.status).toBe(200);
    await expectContract(first, signInOp);
    const step = first.body as { status: string; challenge: string; methods: string[]; expires_in: number };
    expect(step).toMatchObject({ status: "second_factor_required", methods: ["totp", "recovery_code"] });
    expect(step).not.toHaveProperty("access_token");
    expect(step.expires_in).toBeGreaterThan(200);

    const secondOp = { method: "post", path: PATHS.signInSecondFactor } as const;
    const wrong = await call(request, PATHS.signInSecondFactor, { json: { challenge: step.challenge, otp: authenticator.staleCode() } });
    expect(wrong.status).toBe(401);
    await expectContract(wrong, secondOp);
    expect(errorCode(wrong)).toBe("invalid_second_factor");

    const done = await call(request, PATHS.signInSecondFactor, {
      json: { challenge: step.challenge, otp: await authenticator.code(), client_name: "Phone app" },
    });
    expect(done.status, done.text).toBe(200);
    await expectContract(done, secondOp);
    const token = (done.body as { access_token: string }).access_token;
    const me = await call(request, PATHS.me, { method: "GET", headers: auth(token) });
    expect(me.body).toMatchObject({ two_factor_enabled: true });

    const again = await call(request, PATHS.signInSecondFactor, { json: { challenge: step.challenge, otp: await authenticator.code() } });
    expect(again.status).toBe(401);
    expect(errorCode(again)).toBe("invalid_challenge");
  });

  test("register answers 202 with the page's words for a new and a taken address alike", async ({ request, createUser }) => {
    const taken = await createUser({ password: STRONG_PASSWORD });
    const answers = [];
    for (const email of [uniqueEmail("api-register"), taken.email]) {
      const result = await call(request, PATHS.register, {
        json: { email, password: NEW_PASSWORD },
        headers: { "x-forwarded-for": uniqueIp() },
      });
      expect(result.status).toBe(202);
      await expectContract(result, { method: "post", path: PATHS.register });
      answers.push(result.text);
    }
    expect(answers[0]).toBe(answers[1]);
    expect(JSON.parse(answers[0]!)).toEqual({ message: "Check your email to finish creating your account." });
  });
});

test.describe("an app's session on the sessions page", () => {
  test("shows the app by its name, and ending it there ends the token", async ({ page, request, createUser }) => {
    const user = await createUser({ password: STRONG_PASSWORD });
    await signIn(page, user);
    const token = await bearerTokenFor(request, user, "Rekey CLI on build-box");

    await page.goto("/account/sessions");
    const row = page.getByTestId("session-row").filter({ hasText: "Rekey CLI on build-box (app)" });
    await expect(row).toHaveCount(1);
    await expect(row.getByTestId("session-kind")).toContainText("App");
    await expectNoSeriousViolations(page);

    await row.getByRole("button", { name: /^Sign out Rekey CLI on build-box \(app\)/ }).click();
    await expect(page).toHaveURL(/\/account\/sessions\?notice=signed-out-one$/);
    await expect(page.getByTestId("session-row").filter({ hasText: "Rekey CLI on build-box" })).toHaveCount(0);
    const refused = await call(request, PATHS.me, { method: "GET", headers: auth(token) });
    expect(refused.status).toBe(401);
    expect(errorCode(refused)).toBe("invalid_token");
  });

  test("the app ends a browser's session, and the browser is signed out on its next request", async ({ page, request, createUser }) => {
    const user = await createUser({ password: STRONG_PASSWORD });
    await signIn(page, user);
    const token = await bearerTokenFor(request, user, "Rekey CLI");
    const list = await call(request, PATHS.sessions, { method: "GET", headers: auth(token) });
    const browserSession = (list.body as { sessions: { id: string; kind: string }[] }).sessions.find((s) => s.kind === "browser");
    expect(browserSession).toBeTruthy();

    const ended = await call(request, `/api/v1/sessions/${browserSession!.id}`, { method: "DELETE", headers: auth(token) });
    expect(ended.status).toBe(204);
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login\?callbackUrl=%2Faccount$/);
    expect((await call(request, PATHS.me, { method: "GET", headers: auth(token) })).status).toBe(200);
  });
});
