import { afterEach, describe, expect, it } from "vitest";
import { overrideEnvForTests } from "../env";
import { sessionCookieName } from "./cookie-names";
import { sessionCookie } from "./sessions";
import { signInChallengeCookie } from "./sign-in";

afterEach(() => {
  overrideEnvForTests({});
});

describe("sessionCookie", () => {
  it("is HttpOnly and SameSite=Lax, and not Secure on a plain-http APP_URL (local development)", () => {
    overrideEnvForTests({ APP_URL: "http://localhost:3000" });
    const cookie = sessionCookie("token", new Date("2030-01-01T00:00:00Z"));
    expect(cookie.name).toBe("authjs.session-token");
    expect(cookie.options).toMatchObject({ httpOnly: true, sameSite: "lax", path: "/", secure: false });
  });

  it("is Secure, for path / and without a Domain, with the __Host- prefix, whenever APP_URL is https", () => {
    overrideEnvForTests({ APP_URL: "https://rekey.example.com" });
    const cookie = sessionCookie("token", new Date("2030-01-01T00:00:00Z"));
    expect(cookie.name).toBe("__Host-authjs.session-token");
    expect(cookie.options).toMatchObject({ httpOnly: true, sameSite: "lax", path: "/", secure: true });
    expect(cookie.options).not.toHaveProperty("domain");
  });
});

describe("sessionCookieName", () => {
  it.each([
    ["https://rekey.example.com", "__Host-authjs.session-token"],
    ["https://localhost:3443", "__Host-authjs.session-token"],
    ["http://localhost:3000", "authjs.session-token"],
    ["http://rekey.example.com", "authjs.session-token"],
  ])("for APP_URL %s is %s", (appUrl, name) => {
    expect(sessionCookieName(appUrl)).toBe(name);
  });

  it("follows APP_URL when called without one, as Auth.js's config and sessionCookie() both do", () => {
    overrideEnvForTests({ APP_URL: "https://rekey.example.com" });
    expect(sessionCookieName()).toBe(sessionCookie("t", new Date()).name);
    overrideEnvForTests({ APP_URL: "http://localhost:3000" });
    expect(sessionCookieName()).toBe(sessionCookie("t", new Date()).name);
  });
});

describe("signInChallengeCookie", () => {
  it("holds the pending second step for 5 minutes, HttpOnly and SameSite=Lax, not Secure on plain http", () => {
    overrideEnvForTests({ APP_URL: "http://localhost:3000" });
    const cookie = signInChallengeCookie("token");
    expect(cookie.name).toBe("rekey.sign-in-challenge");
    expect(cookie.options).toEqual({ httpOnly: true, sameSite: "lax", path: "/", secure: false, maxAge: 300 });
  });

  it("is Secure, for path / and without a Domain, with the __Host- prefix, whenever APP_URL is https", () => {
    overrideEnvForTests({ APP_URL: "https://rekey.example.com" });
    const cookie = signInChallengeCookie("token");
    expect(cookie.name).toBe("__Host-rekey.sign-in-challenge");
    expect(cookie.options).toEqual({ httpOnly: true, sameSite: "lax", path: "/", secure: true, maxAge: 300 });
  });
});
