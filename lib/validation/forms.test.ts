import { describe, expect, it } from "vitest";
import { EmailSchema } from "./fields";
import { ChangePasswordSchema, LoginSchema, RegisterSchema, ResetPasswordSchema } from "./forms";
import { NewPasswordSchema, PASSWORD_MAX_LENGTH } from "./password-policy";

const GOOD = "Correct-Horse-7";

function passwordMessages(password: string): string[] {
  const result = NewPasswordSchema.safeParse(password);
  return result.success ? [] : result.error.issues.map((i) => i.message);
}

/** Messages per field path ("email", "confirmPassword", ...) of a failed parse. */
function fieldErrors(result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) {
  const errors: Record<string, string[]> = {};
  for (const issue of result.error?.issues ?? []) (errors[issue.path.join(".")] ??= []).push(issue.message);
  return errors;
}

describe("EmailSchema", () => {
  it("trims and lower-cases an address", () => {
    expect(EmailSchema.parse("  Ada.Lovelace@Example.COM \t")).toBe("ada.lovelace@example.com");
  });

  it.each(["ada", "ada@", "@example.com", "ada@example", "ada lovelace@example.com", "ada@@example.com"])(
    "rejects %j with 'Enter a valid email address'",
    (input) => {
      const result = EmailSchema.safeParse(input);
      expect(result.success).toBe(false);
      expect(result.error?.issues.map((i) => i.message)).toEqual(["Enter a valid email address, like name@example.com."]);
    },
  );

  it("rejects an empty or blank address with 'Enter your email address.'", () => {
    for (const input of ["", "   "]) {
      const result = EmailSchema.safeParse(input);
      expect(result.error?.issues.map((i) => i.message)).toContain("Enter your email address.");
    }
  });

  it("rejects a missing address with 'Enter your email address.'", () => {
    expect(EmailSchema.safeParse(undefined).error?.issues[0]?.message).toBe("Enter your email address.");
  });

  it("rejects an address over 254 characters as too long", () => {
    const long = `${"a".repeat(64)}@${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(60)}.${"e".repeat(3)}.com`;
    expect(long.length).toBe(255);
    expect(EmailSchema.safeParse(long).error?.issues.map((i) => i.message)).toEqual(["That email address is too long."]);
  });
});

describe("the password policy (NewPasswordSchema)", () => {
  it("accepts a password that meets every rule", () => {
    expect(passwordMessages(GOOD)).toEqual([]);
  });

  it.each([
    ["too short", "Ab1!xyz", "Use 8 to 128 characters."],
    ["too long", `Aa1!${"x".repeat(PASSWORD_MAX_LENGTH - 3)}`, "Use 8 to 128 characters."],
    ["without an upper-case letter", "correct-horse-7", "Add an upper-case letter."],
    ["without a lower-case letter", "CORRECT-HORSE-7", "Add a lower-case letter."],
    ["without a digit", "Correct-Horse-X", "Add a digit."],
    ["without a special character", "CorrectHorse7", "Add a special character, like ! ? # or %."],
  ])("rejects a password %s with only its own message", (_rule, password, message) => {
    expect(passwordMessages(password)).toEqual([message]);
  });

  it("accepts exactly 8 and exactly 128 characters", () => {
    expect(passwordMessages("Abcdef1!")).toEqual([]);
    expect(passwordMessages(`Aa1!${"x".repeat(PASSWORD_MAX_LENGTH - 4)}`)).toEqual([]);
  });

  it("counts characters, not UTF-16 units, for the length rule", () => {
    // Seven code points, eleven UTF-16 units: still too short.
    expect(passwordMessages("Aa1!😀😀😀")).toEqual(["Use 8 to 128 characters."]);
  });

  it("counts a space as a special character", () => {
    expect(passwordMessages("Correct horse 7")).toEqual([]);
  });

  it("reports every broken rule when several are broken", () => {
    expect(passwordMessages("abcdefgh")).toEqual([
      "Add an upper-case letter.",
      "Add a digit.",
      "Add a special character, like ! ? # or %.",
    ]);
    expect(passwordMessages("abc")).toEqual([
      "Use 8 to 128 characters.",
      "Add an upper-case letter.",
      "Add a digit.",
      "Add a special character, like ! ? # or %.",
    ]);
  });

  it("asks for a password when it is empty", () => {
    expect(passwordMessages("")[0]).toBe("Enter a password.");
  });
});

describe("RegisterSchema", () => {
  const valid = { name: "  Ada  ", email: " Ada@Example.com ", password: GOOD, confirmPassword: GOOD };

  it("parses a valid registration into its stored form", () => {
    expect(RegisterSchema.parse(valid)).toEqual({ name: "Ada", email: "ada@example.com", password: GOOD, confirmPassword: GOOD });
  });

  it("drops a blank name", () => {
    expect(RegisterSchema.parse({ ...valid, name: "   " }).name).toBeUndefined();
  });

  it("rejects a mismatched confirmation with 'The passwords do not match.' on confirmPassword", () => {
    const result = RegisterSchema.safeParse({ ...valid, confirmPassword: `${GOOD}x` });
    expect(result.success).toBe(false);
    expect(fieldErrors(result)).toEqual({ confirmPassword: ["The passwords do not match."] });
  });

  it("puts each broken password rule on the password field", () => {
    const result = RegisterSchema.safeParse({ ...valid, password: "abcdefgh", confirmPassword: "abcdefgh" });
    expect(fieldErrors(result).password).toEqual([
      "Add an upper-case letter.",
      "Add a digit.",
      "Add a special character, like ! ? # or %.",
    ]);
  });

  it("puts a malformed email on the email field", () => {
    const result = RegisterSchema.safeParse({ ...valid, email: "ada@" });
    expect(fieldErrors(result).email).toEqual(["Enter a valid email address, like name@example.com."]);
  });
});

describe("the other password forms", () => {
  it("ResetPasswordSchema rejects a mismatched confirmation on confirmPassword", () => {
    const result = ResetPasswordSchema.safeParse({ token: "t", password: GOOD, confirmPassword: "Other-Horse-7" });
    expect(fieldErrors(result)).toEqual({ confirmPassword: ["The passwords do not match."] });
  });

  it("ResetPasswordSchema asks for the code the form shows: six digits for the authenticator, a recovery code otherwise", () => {
    const base = { token: "t", password: GOOD, confirmPassword: GOOD };
    expect(fieldErrors(ResetPasswordSchema.safeParse({ ...base, secondFactor: "totp", otp: "12345" }))).toEqual({
      otp: ["Enter the 6-digit code from your authenticator app."],
    });
    expect(fieldErrors(ResetPasswordSchema.safeParse({ ...base, secondFactor: "recovery", recoveryCode: " " }))).toEqual({
      recoveryCode: ["Enter one of your recovery codes."],
    });
    expect(ResetPasswordSchema.safeParse({ ...base, secondFactor: "totp", otp: "123 456" }).success).toBe(true);
    // Without a second factor on the form, no code is asked for.
    expect(ResetPasswordSchema.safeParse(base).success).toBe(true);
  });

  it("ChangePasswordSchema applies the policy to the new password only", () => {
    const result = ChangePasswordSchema.safeParse({ currentPassword: "old", password: "CorrectHorse7", confirmPassword: "CorrectHorse7" });
    expect(fieldErrors(result)).toEqual({ password: ["Add a special character, like ! ? # or %."] });
  });

  it("LoginSchema does not apply the policy to an existing password", () => {
    expect(LoginSchema.parse({ email: "ADA@example.com", password: "weak" })).toEqual({ email: "ada@example.com", password: "weak" });
  });
});
