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

describe("clientIp with client-sent junk left of the trusted entries", () => {
  // The proxy in front appends the address it received the request from; everything left of
  // that entry came from the client and must never erase it.
  it.each([
    ["an empty header value", ", 198.51.100.7"],
    ["only commas", ",,, 198.51.100.7"],
    ["an empty entry among forged ones", "1.1.1.1,, 198.51.100.7"],
    ["spaces", "   ,  , 198.51.100.7"],
    ["a tab and spaces inside an entry", "1.1.1.1 \t 2.2.2.2, 198.51.100.7"],
    ["garbage", "not-an-ip, <script>, 999.1.1.1, 198.51.100.7"],
    ["a port or brackets gone wrong", "1.2.3.4:80, [::1, 198.51.100.7"],
    ["a loose IPv4 form", "0x7f.1, 127.1, 198.51.100.7"],
    ["an obfuscated unknown keyword", "unknown, _hidden, 198.51.100.7"],
  ])("keeps the trusted entry after %s", (_name, value) => {
    expect(clientIp(headers({ "x-forwarded-for": value }))).toBe("198.51.100.7");
  });

  it("reads several X-Forwarded-For headers as one list, the last header's last entry trusted", () => {
    const several = new Headers();
    several.append("x-forwarded-for", "");
    several.append("x-forwarded-for", "garbage,");
    several.append("x-forwarded-for", "198.51.100.7");
    expect(clientIp(several)).toBe("198.51.100.7");
    const two = new Headers();
    two.append("x-forwarded-for", "6.6.6.6, 203.0.113.9");
    two.append("x-forwarded-for", "10.0.0.1");
    expect(clientIp(two, 2)).toBe("203.0.113.9");
  });

  it("keeps a trusted IPv6 or IPv4-mapped entry after junk, normalised", () => {
    expect(clientIp(headers({ "x-forwarded-for": ", garbage, 2001:DB8:0:0:0:0:0:1" }))).toBe("2001:db8::1");
    expect(clientIp(headers({ "x-forwarded-for": ",, [2001:db8::2]" }))).toBe("2001:db8::2");
    expect(clientIp(headers({ "x-forwarded-for": " , ::ffff:203.0.113.5" }))).toBe("203.0.113.5");
    expect(clientIp(headers({ "x-forwarded-for": "::ffff:6.6.6.6,, ::ffff:cb00:7105" }))).toBe("203.0.113.5");
  });

  it("takes the hops-th entry from the right with junk further left, for two proxies", () => {
    expect(clientIp(headers({ "x-forwarded-for": ",, garbage, 2001:db8::9, 10.0.0.1" }), 2)).toBe("2001:db8::9");
    expect(clientIp(headers({ "x-forwarded-for": " , 203.0.113.9 , 10.0.0.1" }), 2)).toBe("203.0.113.9");
  });

  it("still answers null when the trusted entry itself is empty or not an address", () => {
    expect(clientIp(headers({ "x-forwarded-for": "198.51.100.7, " }))).toBeNull();
    expect(clientIp(headers({ "x-forwarded-for": "198.51.100.7, ::ffff:garbage" }))).toBeNull();
    expect(clientIp(headers({ "x-forwarded-for": " " }))).toBeNull();
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

  it("returns null when the chosen entry is not an address or is empty", () => {
    expect(clientIp(headers({ "x-forwarded-for": "garbage, 198.51.100.7" }), 2)).toBeNull();
    expect(clientIp(headers({ "x-forwarded-for": "6.6.6.6, , 198.51.100.7" }), 2)).toBeNull();
  });

  it("never lets an empty entry shift the trusted ones: what a client put left of them is not chosen", () => {
    // A parser that drops empty entries would read 6.6.6.6 as the second from the right.
    expect(clientIp(headers({ "x-forwarded-for": "6.6.6.6,, 10.0.0.1" }), 2)).toBeNull();
    expect(clientIp(headers({ "x-forwarded-for": ",6.6.6.6, 203.0.113.9, 10.0.0.1" }), 2)).toBe("203.0.113.9");
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
