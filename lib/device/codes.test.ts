import { describe, expect, it } from "vitest";
import { hashToken } from "../tokens";
import { DeviceCodeSchema } from "../validation/device-code";
import { USER_CODE_ALPHABET, formatUserCode, generateDeviceCode, generateUserCode, hashUserCode, normaliseUserCode } from "./codes";

describe("device flow codes", () => {
  it("user codes are 8 letters of an alphabet without vowels, digits or look-alikes", () => {
    expect(USER_CODE_ALPHABET).toHaveLength(20);
    expect(USER_CODE_ALPHABET).not.toMatch(/[AEIOUY0-9]/);
    const seen = new Set<string>();
    const letters = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const code = generateUserCode();
      expect(code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
      seen.add(code);
      for (const c of code) letters.add(c);
    }
    expect(seen.size).toBe(2000);
    // Every letter of the alphabet is drawn.
    expect(letters.size).toBe(20);
  });

  it("shows a code as XXXX-XXXX and reads it back whatever the case, dashes and spaces", () => {
    const code = "BCDFGHJK";
    expect(formatUserCode(code)).toBe("BCDF-GHJK");
    for (const typed of ["BCDF-GHJK", "bcdf-ghjk", " bcdf ghjk ", "BcDf–GhJk", "b-c-d-f-g-h-j-k", "bcdfghjk\n"]) {
      expect(normaliseUserCode(typed), typed).toBe(code);
    }
  });

  it("refuses what cannot be a code: wrong length, vowels, digits, other characters", () => {
    for (const typed of ["", "BCDF-GHJ", "BCDF-GHJKL", "BCDF-GHJ0", "ABCD-EFGH", "BCDF_GHJK", "BCDF-GHJ🔑", "ВСDF-GHJK"]) {
      expect(normaliseUserCode(typed), typed).toBeNull();
    }
  });

  it("the form's schema normalises the code and names the problem", () => {
    expect(DeviceCodeSchema.parse({ code: "bcdf ghjk" })).toEqual({ code: "BCDFGHJK" });
    const empty = DeviceCodeSchema.safeParse({ code: "  " });
    expect(empty.success ? null : empty.error.issues.map((i) => i.message)).toEqual(["Enter the code the tool shows."]);
    const wrong = DeviceCodeSchema.safeParse({ code: "1234-5678" });
    expect(wrong.success ? null : wrong.error.issues.map((i) => i.message)).toEqual(["A code has 8 letters, like BCDF-GHJK."]);
  });

  it("stores only SHA-256 hashes: of the normalised user code and of the 256-bit device code", () => {
    expect(hashUserCode("BCDFGHJK")).toBe(hashToken("BCDFGHJK"));
    expect(hashUserCode("BCDFGHJK")).toMatch(/^[0-9a-f]{64}$/);
    const device = generateDeviceCode();
    expect(Buffer.from(device.token, "base64url")).toHaveLength(32);
    expect(device.hash).toBe(hashToken(device.token));
    expect(generateDeviceCode().token).not.toBe(device.token);
  });
});
