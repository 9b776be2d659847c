import { describe, expect, it } from "vitest";
import { generateRecoveryCodes, hashRecoveryCode, normalizeRecoveryCode } from "./recovery-codes";

describe("recovery codes", () => {
  it("are ten distinct 80-bit codes in four groups of four", () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){3}$/);
  });

  it("are hashed from their canonical form: case, spaces and dashes do not matter", () => {
    const [code] = generateRecoveryCodes();
    const sloppy = ` ${code!.toLowerCase().replace(/-/g, " ")} `;
    expect(normalizeRecoveryCode(sloppy)).toBe(code!.replace(/-/g, ""));
    expect(hashRecoveryCode(sloppy)).toBe(hashRecoveryCode(code!));
    expect(hashRecoveryCode(code!)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRecoveryCode(code!)).not.toContain(code!.replace(/-/g, ""));
    expect(normalizeRecoveryCode("ABCD-EFGH-IJKL-MNO0")).toBeNull();
    expect(normalizeRecoveryCode("short")).toBeNull();
  });
});
