import { createHmac, hkdfSync } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { overrideEnvForTests } from "../env";
import {
  cookieFromHeader,
  deviceCookie,
  deviceCookieAfterSignIn,
  MAX_DEVICE_TOKENS,
  parseDeviceCookie,
  recogniseDevice,
} from "./device-token";

const OLD_SECRET = "an-old-secret-that-is-at-least-32-chars-long";
const NEW_SECRET = "the-new-secret-that-is-at-least-32-chars-long";
const OWNER = "owner@example.com";
const OTHER = "someone-else@example.com";

afterEach(() => {
  overrideEnvForTests({});
});

describe("device tokens", () => {
  it("recognises the browser that signed in to an address, by a stable nonce, and nothing else", () => {
    const cookie = deviceCookieAfterSignIn(null, OWNER, null);
    const device = recogniseDevice(cookie, OWNER);
    expect(device).toEqual({ nonce: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), stale: false });
    // The same address however it is typed; the same nonce after the next sign-in.
    expect(recogniseDevice(cookie, " Owner@Example.com ")).toEqual(device);
    expect(recogniseDevice(deviceCookieAfterSignIn(cookie, OWNER, device), OWNER)).toEqual(device);
    expect(recogniseDevice(cookie, OTHER)).toBeNull();
    expect(recogniseDevice(null, OWNER)).toBeNull();
  });

  it("never trusts a forged or altered token, nor one signed with another secret", () => {
    const cookie = deviceCookieAfterSignIn(null, OWNER, null);
    const [version, tag, nonce, mac] = cookie.split(".");
    const flip = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);
    expect(recogniseDevice([version, tag, flip(nonce!), mac].join("."), OWNER)).toBeNull();
    expect(recogniseDevice([version, tag, nonce, flip(mac!)].join("."), OWNER)).toBeNull();
    // A token signed correctly, but with a key that is not ours.
    const key = Buffer.from(hkdfSync("sha256", "an-attackers-secret-of-at-least-32-chars", "rekey", "rekey:device-token:v1", 32));
    const body = `${version}.${tag}.${nonce}`;
    expect(recogniseDevice(`${body}.${createHmac("sha256", key).update(body).digest("base64url")}`, OWNER)).toBeNull();
    // Another account's valid token, given for this address.
    const foreign = deviceCookieAfterSignIn(null, OTHER, null);
    expect(recogniseDevice(foreign, OWNER)).toBeNull();
    overrideEnvForTests({ AUTH_SECRET: NEW_SECRET });
    expect(recogniseDevice(cookie, OWNER)).toBeNull();
  });

  it("still recognises a token signed under AUTH_SECRET_PREVIOUS, as stale, and signs it again under the new secret with the same nonce", () => {
    overrideEnvForTests({ AUTH_SECRET: OLD_SECRET });
    const cookie = deviceCookieAfterSignIn(null, OWNER, null);
    const before = recogniseDevice(cookie, OWNER)!;
    overrideEnvForTests({ AUTH_SECRET: NEW_SECRET, AUTH_SECRET_PREVIOUS: OLD_SECRET });
    const device = recogniseDevice(cookie, OWNER);
    expect(device).toEqual({ nonce: before.nonce, stale: true });
    const renewed = deviceCookieAfterSignIn(cookie, OWNER, device);
    expect(renewed.split("~")).toHaveLength(1);
    overrideEnvForTests({ AUTH_SECRET: NEW_SECRET });
    expect(recogniseDevice(renewed, OWNER)).toEqual({ nonce: before.nonce, stale: false });
  });

  it("keeps one token per account, newest first, at most MAX_DEVICE_TOKENS", () => {
    let cookie = "";
    const emails = Array.from({ length: MAX_DEVICE_TOKENS + 3 }, (_, i) => `user${i}@example.com`);
    for (const email of emails) cookie = deviceCookieAfterSignIn(cookie, email, recogniseDevice(cookie, email));
    expect(parseDeviceCookie(cookie)).toHaveLength(MAX_DEVICE_TOKENS);
    expect(cookie.length).toBeLessThan(1100);
    expect(recogniseDevice(cookie, emails.at(-1)!)).not.toBeNull();
    expect(recogniseDevice(cookie, emails[0]!)).toBeNull();
    // Signing in again to a remembered account replaces its token, never adds a second.
    const again = deviceCookieAfterSignIn(cookie, emails.at(-2)!, recogniseDevice(cookie, emails.at(-2)!));
    expect(parseDeviceCookie(again)).toHaveLength(MAX_DEVICE_TOKENS);
    expect(recogniseDevice(again, emails.at(-2)!)).toEqual(recogniseDevice(cookie, emails.at(-2)!));
  });

  it("reads any Cookie header, however malformed, without throwing", () => {
    const token = deviceCookieAfterSignIn(null, OWNER, null);
    const name = deviceCookie("").name;
    for (const header of ["", ";;;", "=", "rekey.device", "rekey.device=", "a=b; rekey.device=%E0%A4%A", `x=${"~".repeat(100_000)}`]) {
      expect(() => recogniseDevice(cookieFromHeader(header, name), OWNER)).not.toThrow();
      expect(recogniseDevice(cookieFromHeader(header, name), OWNER)).toBeNull();
    }
    expect(recogniseDevice(`${"~".repeat(50_000)}${token}`, OWNER)).toBeNull();
    expect(recogniseDevice(cookieFromHeader(`a=1; ${name}=garbage~${token}; b=2`, name), OWNER)).not.toBeNull();
  });

  it("is httpOnly, SameSite=Lax and lasts a year; Secure with an __Host- name on https", () => {
    overrideEnvForTests({ APP_URL: "http://localhost:3000" });
    expect(deviceCookie("v")).toMatchObject({
      name: "rekey.device",
      options: { httpOnly: true, sameSite: "lax", secure: false, path: "/" },
    });
    expect(deviceCookie("v").options.maxAge).toBe(365 * 24 * 60 * 60);
    overrideEnvForTests({ APP_URL: "https://rekey.example.com" });
    expect(deviceCookie("v")).toMatchObject({ name: "__Host-rekey.device", options: { secure: true } });
  });
});
