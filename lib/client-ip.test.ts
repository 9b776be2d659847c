import { describe, expect, it } from "vitest";
import { clientIp, userAgent } from "./client-ip";

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

describe("userAgent", () => {
  it("cuts a long header to 512 characters and returns null without one", () => {
    expect(userAgent(headers({ "user-agent": "x".repeat(2000) }))).toHaveLength(512);
    expect(userAgent(headers({}))).toBeNull();
  });
});
