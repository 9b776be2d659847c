import { describe, expect, it } from "vitest";
import { ConfirmIdentitySchema } from "./confirm-identity";

describe("ConfirmIdentitySchema", () => {
  it("takes the password alone (whether a code is needed is the server's decision)", () => {
    expect(ConfirmIdentitySchema.parse({ password: "pw" })).toEqual({ password: "pw", otp: undefined, recoveryCode: undefined });
  });

  it("sorts the form's one code field into an authenticator code or a recovery code by its shape", () => {
    expect(ConfirmIdentitySchema.parse({ password: "pw", code: " 123 456 " })).toMatchObject({ otp: "123456", recoveryCode: undefined });
    expect(ConfirmIdentitySchema.parse({ password: "pw", code: " abcd-efgh-jkmn-pqrs " })).toMatchObject({
      otp: undefined,
      recoveryCode: "abcd-efgh-jkmn-pqrs",
    });
  });

  it("takes a JSON client's otp or recoveryCode as they are", () => {
    expect(ConfirmIdentitySchema.parse({ password: "pw", otp: "654321" })).toMatchObject({ otp: "654321" });
    expect(ConfirmIdentitySchema.parse({ password: "pw", recoveryCode: "ABCD-EFGH-JKMN-PQRS" })).toMatchObject({
      recoveryCode: "ABCD-EFGH-JKMN-PQRS",
    });
  });

  it("names the field of each problem: no password, a malformed code, two codes at once", () => {
    const issues = (input: unknown) => ConfirmIdentitySchema.safeParse(input).error?.issues.map((i) => [i.path[0], i.message]);
    expect(issues({ password: "" })).toEqual([["password", "Enter your password."]]);
    expect(issues({ password: "pw", otp: "12345" })).toEqual([["otp", "Enter the 6-digit code from your authenticator app."]]);
    expect(issues({ password: "pw", otp: "123456", recoveryCode: "ABCD-EFGH-JKMN-PQRS" })).toEqual([
      ["recoveryCode", "Enter one code only."],
    ]);
  });
});
