import { describe, expect, it } from "vitest";
import { safeCallbackPath } from "./safe-redirect";

// vitest.config.ts sets APP_URL=http://rekey.test.
describe("safeCallbackPath", () => {
  it.each([
    ["/account", "/account"],
    ["/account/sessions?tab=1#x", "/account/sessions?tab=1#x"],
    ["http://rekey.test/account", "/account"],
    ["/account?next=/../x", "/account?next=/../x"],
    ["/a.b/c..d/.well-known", "/a.b/c..d/.well-known"],
    ["/account?q=%41", "/account?q=%41"],
  ])("keeps the same-origin path %j as %j", (value, expected) => {
    expect(safeCallbackPath(value)).toBe(expected);
  });

  it.each([
    ["another origin", "https://evil.example/phish"],
    ["another origin that starts with APP_URL", "http://rekey.test.evil.example/phish"],
    ["APP_URL's host with credentials in front", "http://rekey.test@evil.example/"],
    ["APP_URL's host on another scheme", "https://rekey.test/account"],
    ["a protocol-relative URL", "//evil.example/phish"],
    ["three slashes", "///evil.example"],
    ["a backslash trick", "/\\evil.example"],
    ["a backslash after the slash run", "/\\/evil.example"],
    ["a backslash pair", "\\\\evil.example"],
    ["a dot segment that resolves to //", "/.//evil.example"],
    ["a dot-dot segment that resolves to //", "/a/..//evil.example"],
    ["a trailing dot-dot", "/account/.."],
    ["an encoded dot segment", "/%2e%2e//evil.example"],
    ["an encoded dot segment, mixed case", "/%2E/%2fevil.example"],
    ["an encoded slash", "/%2f%2fevil.example"],
    ["an encoded slash, upper case", "/%2F/evil.example"],
    ["an encoded backslash", "/%5cevil.example"],
    ["a tab the URL parser drops", "/\t/evil.example"],
    ["a newline the URL parser drops", "/\n/evil.example"],
    ["an encoded newline", "/%0a/evil.example"],
    ["a leading space", " //evil.example"],
    ["a NUL byte", "/\u0000/evil.example"],
    ["a javascript: URL", "javascript:alert(1)"],
    ["a data: URL", "data:text/html,<script>alert(1)</script>"],
    ["a scheme with a path", "http:/evil.example"],
    ["a relative path", "account"],
    ["an empty value", ""],
    ["a non-string", 42],
    ["an overlong value", `/${"a".repeat(3000)}`],
  ])("falls back for %s (%j)", (_label, value) => {
    expect(safeCallbackPath(value)).toBe("/account");
    expect(safeCallbackPath(value, "/")).toBe("/");
  });
});
