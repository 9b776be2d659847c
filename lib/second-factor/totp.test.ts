import { describe, expect, it } from "vitest";
import { formatSetupKey, matchingTotpStep, totpCode } from "./totp";

// RFC 6238 appendix B, SHA-1 rows: the 20-byte ASCII key "12345678901234567890". The RFC
// prints 8 digits; a 6-digit code is the same value mod 10^6 (its last six digits).
const RFC_KEY = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const RFC_VECTORS: [seconds: number, eightDigits: string][] = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
];

describe("TOTP", () => {
  it.each(RFC_VECTORS)("matches the RFC 6238 test vector at T=%i", (seconds, eightDigits) => {
    expect(totpCode(RFC_KEY, seconds * 1000)).toBe(eightDigits.slice(-6));
  });

  it("accepts one step of clock drift either side and no more", () => {
    const now = 1_800_000_000_000;
    const step = Math.floor(now / 30_000);
    for (const drift of [-1, 0, 1]) expect(matchingTotpStep(RFC_KEY, totpCode(RFC_KEY, now + drift * 30_000), now)).toBe(step + drift);
    for (const drift of [-2, 2]) expect(matchingTotpStep(RFC_KEY, totpCode(RFC_KEY, now + drift * 30_000), now)).toBeNull();
    expect(matchingTotpStep(RFC_KEY, "12345", now)).toBeNull();
  });

  it("groups the setup key in fours for typing", () => {
    expect(formatSetupKey("ABCDEFGHIJKLMNOP")).toBe("ABCD EFGH IJKL MNOP");
  });
});
