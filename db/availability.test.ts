import { describe, expect, it } from "vitest";
import { isDatabaseUnavailableError } from "./availability";

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });

describe("isDatabaseUnavailableError", () => {
  it.each([
    ["a refused connection", withCode("ECONNREFUSED")],
    ["postgres.js's connect timeout", withCode("CONNECT_TIMEOUT")],
    ["a connection closed under a query", withCode("CONNECTION_CLOSED")],
    ["a server shutting down (57P01)", withCode("57P01")],
    ["a server starting up (57P03)", withCode("57P03")],
    ["a connection exception (class 08)", withCode("08006")],
    ["statement_timeout (57014)", withCode("57014")],
    ["lock_timeout (55P03)", withCode("55P03")],
  ])("recognises %s", (_name, error) => {
    expect(isDatabaseUnavailableError(error)).toBe(true);
  });

  it("looks through drizzle's wrapper, Auth.js's wrapper and an AggregateError", () => {
    const refused = withCode("ECONNREFUSED");
    expect(isDatabaseUnavailableError(new Error("Failed query", { cause: refused }))).toBe(true);
    expect(isDatabaseUnavailableError(Object.assign(new Error("CallbackRouteError"), { cause: { err: new Error("Failed query", { cause: refused }) } }))).toBe(true);
    expect(isDatabaseUnavailableError(new AggregateError([withCode("ECONNREFUSED")]))).toBe(true);
  });

  it.each([
    ["a unique violation (23505)", withCode("23505")],
    ["a syntax error (42601)", withCode("42601")],
    ["a deadlock (40P01)", withCode("40P01")],
    ["a plain error", new Error("boom")],
    ["a string", "ECONNREFUSED"],
    ["null", null],
  ])("does not take %s for an outage", (_name, error) => {
    expect(isDatabaseUnavailableError(error)).toBe(false);
  });
});
