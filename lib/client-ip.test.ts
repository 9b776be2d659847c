import { describe, expect, it } from "vitest";
import { clientIp, clientKey, normaliseIp, userAgent } from "./client-ip";

const headers = (values: Record<string, string>) => new Headers(values);

describe("clientIp", () => {
  it("takes the right-most X-Forwarded-For entry, the one the nearest proxy wrote", () => {
    expect(clientIp(headers({ "x-forwarded-for": "203.0.113.9, 10.0.0.1, 198.51.100.7" }))).toBe("198.51.100.7");
  });

  it("ignores what a client puts further left, however it is forged", () => {
    expect(clientIp(headers({ "x-forwarded-for": "127.0.0.1, 1.1.1.1, 198.51.100.7" }))).toBe("198.51.100.7");
  });

  it("accepts IPv6, bracketed IPv6 and IPv4-mapped IPv6 (as Node reports local peers)", () => {
    expect(clientIp(headers({ "x-forwarded-for": "2001:db8::1" }))).toBe("2001:db8::1");
    expect(clientIp(headers({ "x-forwarded-for": "[2001:db8::2]" }))).toBe("2001:db8::2");
    expect(clientIp(headers({ "x-forwarded-for": "::ffff:203.0.113.5" }))).toBe("203.0.113.5");
  });

  it("returns null without the header or when its last entry is not an address", () => {
    expect(clientIp(headers({}))).toBeNull();
    expect(clientIp(headers({ "x-forwarded-for": "198.51.100.7, not-an-ip" }))).toBeNull();
    expect(clientIp(headers({ "x-forwarded-for": "198.51.100.7," }))).toBeNull();
  });

  it("never reads X-Real-IP or other client-settable headers", () => {
    expect(clientIp(headers({ "x-real-ip": "198.51.100.8", "cf-connecting-ip": "198.51.100.9" }))).toBeNull();
  });
});

describe("clientIp with more than one trusted proxy (TRUSTED_PROXY_HOPS)", () => {
  const chain = headers({ "x-forwarded-for": "6.6.6.6, 203.0.113.9, 10.0.0.1, 198.51.100.7" });

  it.each([
    [1, "198.51.100.7"],
    [2, "10.0.0.1"],
    [3, "203.0.113.9"],
  ])("with %i hops takes that many entries from the right (%s)", (hops, expected) => {
    expect(clientIp(chain, hops)).toBe(expected);
  });

  it("takes the left-most entry when the request passed fewer proxies than configured (every entry is then a proxy's)", () => {
    expect(clientIp(headers({ "x-forwarded-for": "203.0.113.9, 198.51.100.7" }), 5)).toBe("203.0.113.9");
  });

  it("returns null when the chosen entry is not an address, or any entry is empty", () => {
    expect(clientIp(headers({ "x-forwarded-for": "garbage, 198.51.100.7" }), 2)).toBeNull();
    expect(clientIp(headers({ "x-forwarded-for": "203.0.113.9,, 198.51.100.7" }), 1)).toBeNull();
  });

  it("reads the right-most entry by default (TRUSTED_PROXY_HOPS unset)", () => {
    expect(clientIp(chain)).toBe("198.51.100.7");
  });
});

describe("normaliseIp", () => {
  it.each([
    ["203.0.113.5", "203.0.113.5"],
    ["::ffff:203.0.113.5", "203.0.113.5"],
    ["[2001:DB8:0:0:0:0:0:1]", "2001:db8::1"],
    [" 2001:db8::1 ", "2001:db8::1"],
  ])("writes %s as %s", (input, expected) => {
    expect(normaliseIp(input)).toBe(expected);
  });

  it.each(["", "1", "0x7f.0.0.1", "127.1", "256.1.1.1", "example.com", "1.2.3.4:80"])("refuses %j", (input) => {
    expect(normaliseIp(input)).toBeNull();
  });
});

describe("clientKey", () => {
  it("keys an IPv4 client by its address", () => {
    expect(clientKey("203.0.113.5")).toBe("203.0.113.5");
    expect(clientKey("::ffff:203.0.113.5")).toBe("203.0.113.5");
  });

  it("keys every IPv6 address of one /64 alike, and a neighbouring /64 apart", () => {
    const key = clientKey("2001:db8:1:2::1");
    expect(key).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8:1:2:ffff:ffff:ffff:ffff")).toBe(key);
    expect(clientKey("2001:0DB8:0001:0002:0:0:0:9")).toBe(key);
    expect(clientKey("2001:db8:1:3::1")).not.toBe(key);
  });

  it("keys every request without a usable IP in one shared bucket", () => {
    expect(clientKey(null)).toBe("unknown");
    expect(clientKey("not-an-ip")).toBe("unknown");
  });
});

describe("userAgent", () => {
  it("cuts a long header to 512 characters and returns null without one", () => {
    expect(userAgent(headers({ "user-agent": "x".repeat(2000) }))).toHaveLength(512);
    expect(userAgent(headers({}))).toBeNull();
  });
});
