import { describe, expect, it } from "vitest";
import { safeCallbackPath } from "./safe-redirect";

// vitest.config.ts sets APP_URL=http://rekey.test.
describe("safeCallbackPath", () => {
  it("keeps same-origin paths with their query and fragment", () => {
    expect(safeCallbackPath("/account")).toBe("/account");
    expect(safeCallbackPath("/account/sessions?tab=1#x")).toBe("/account/sessions?tab=1#x");
    expect(safeCallbackPath("http://rekey.test/account")).toBe("/account");
  });

  it.each([
    ["another origin", "https://evil.example/phish"],
    ["a protocol-relative URL", "//evil.example/phish"],
    ["a backslash trick", "/\\evil.example"],
    ["a javascript: URL", "javascript:alert(1)"],
    ["a relative path", "account"],
    ["an empty value", ""],
    ["a non-string", 42],
    ["an overlong value", `/${"a".repeat(3000)}`],
  ])("falls back for %s", (_label, value) => {
    expect(safeCallbackPath(value)).toBe("/account");
    expect(safeCallbackPath(value, "/")).toBe("/");
  });
});
