import { describe, expect, it } from "vitest";
import { contentSecurityPolicy, generateNonce, NONCE_HEADER, pageSecurityHeaders, staticSecurityHeaders } from "./security-headers";

/** The policy as directive name -> its sources. */
function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy.split(";").map((d) => {
      const [name = "", ...sources] = d.trim().split(/\s+/);
      return [name, sources];
    }),
  );
}

const PRODUCTION = { development: false, https: true };

describe("contentSecurityPolicy", () => {
  it("allows only scripts carrying this response's nonce, and what they load", () => {
    const policy = directives(contentSecurityPolicy("abc123==", PRODUCTION));
    expect(policy.get("script-src")).toEqual(["'self'", "'nonce-abc123=='", "'strict-dynamic'"]);
    expect(policy.get("script-src")).not.toContain("'unsafe-inline'");
    expect(policy.get("script-src")).not.toContain("'unsafe-eval'");
  });

  it("forbids plugins, <base>, framing by any site and form posts to other origins", () => {
    const policy = directives(contentSecurityPolicy("n", PRODUCTION));
    expect(policy.get("object-src")).toEqual(["'none'"]);
    expect(policy.get("base-uri")).toEqual(["'none'"]);
    expect(policy.get("frame-ancestors")).toEqual(["'none'"]);
    expect(policy.get("form-action")).toEqual(["'self'"]);
    expect(policy.get("default-src")).toEqual(["'self'"]);
  });

  it("allows no inline style in production, only this origin's stylesheets and nonced ones", () => {
    expect(directives(contentSecurityPolicy("n", PRODUCTION)).get("style-src")).toEqual(["'self'", "'nonce-n'"]);
  });

  it("adds eval and inline styles only for next dev", () => {
    const policy = directives(contentSecurityPolicy("n", { development: true, https: false }));
    expect(policy.get("script-src")).toContain("'unsafe-eval'");
    expect(policy.get("style-src")).toContain("'unsafe-inline'");
  });

  it("upgrades insecure subresource requests only on an https origin", () => {
    expect(directives(contentSecurityPolicy("n", PRODUCTION)).has("upgrade-insecure-requests")).toBe(true);
    expect(directives(contentSecurityPolicy("n", { development: false, https: false })).has("upgrade-insecure-requests")).toBe(false);
  });
});

describe("generateNonce", () => {
  it("is 128 random bits, base64, different every time", () => {
    const nonces = new Set(Array.from({ length: 100 }, generateNonce));
    expect(nonces.size).toBe(100);
    for (const nonce of nonces) expect(Buffer.from(nonce, "base64")).toHaveLength(16);
  });
});

describe("pageSecurityHeaders", () => {
  it("puts one fresh nonce in the request's policy, in x-nonce, and in the response's policy", () => {
    const headers = new Headers({ accept: "text/html" });
    const response = pageSecurityHeaders(headers, { appUrl: "https://rekey.example.com", development: false });
    const nonce = headers.get(NONCE_HEADER);
    expect(nonce).toBeTruthy();
    expect(headers.get("content-security-policy")).toBe(response["Content-Security-Policy"]);
    expect(response["Content-Security-Policy"]).toContain(`'nonce-${nonce}'`);
    const again = new Headers();
    pageSecurityHeaders(again, { appUrl: "https://rekey.example.com", development: false });
    expect(again.get(NONCE_HEADER)).not.toBe(nonce);
  });

  it("sends HSTS for two years, subdomains included, when APP_URL is https", () => {
    const response = pageSecurityHeaders(new Headers(), { appUrl: "https://rekey.example.com", development: false });
    expect(response["Strict-Transport-Security"]).toBe("max-age=63072000; includeSubDomains");
  });

  it("sends no HSTS on a plain-http APP_URL (local development)", () => {
    expect(pageSecurityHeaders(new Headers(), { appUrl: "http://localhost:3000", development: false })).not.toHaveProperty(
      "Strict-Transport-Security",
    );
  });
});

describe("staticSecurityHeaders", () => {
  it("isolates the browsing context and refuses sniffing and framing", () => {
    expect(Object.fromEntries(staticSecurityHeaders().map((h) => [h.key, h.value]))).toMatchObject({
      "Cross-Origin-Opener-Policy": "same-origin",
      "X-Content-Type-Options": "nosniff",
      "X-Frame-Options": "DENY",
    });
  });
});
