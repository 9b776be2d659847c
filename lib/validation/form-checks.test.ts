import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ChangeEmailSchema, ConfirmEmailChangeSchema } from "./change-email";
import { ConfirmIdentitySchema } from "./confirm-identity";
import { DeleteAccountSchema } from "./delete-account";
import { DeviceCodeSchema } from "./device-code";
import * as checks from "./form-checks";
import {
  AdminFindUserSchema,
  ChangePasswordSchema,
  EnableTwoFactorSchema,
  ForgotPasswordSchema,
  LoginSchema,
  RegisterSchema,
  ResendVerificationSchema,
  ResetPasswordSchema,
  SignInCodeSchema,
  SignInRecoveryCodeSchema,
  VerifyEmailSchema,
} from "./forms";

// Each form's browser check (form-checks.ts) against the zod schema its server action parses
// with: for every combination of the field values below, both must give the same fields in
// error with the same messages in the same order (so the same verdict too). The values are the
// kinds of input a person or a crafted post sends: empty, blank, too long, malformed, weak, a
// mismatched confirmation, and good ones.

type Values = Record<string, string | undefined>;

/** The server's messages per field, as the server action hands them to the form. */
function serverMessages(schema: z.ZodType, values: Values): Record<string, string[]> {
  const result = schema.safeParse(values);
  const out: Record<string, string[]> = {};
  for (const issue of result.success ? [] : result.error.issues) (out[String(issue.path[0])] ??= []).push(issue.message);
  return out;
}

/** Every combination of one value per field (undefined leaves the field out). */
function combinations(fields: Record<string, (string | undefined)[]>): Values[] {
  return Object.entries(fields).reduce<Values[]>(
    (rows, [field, options]) => rows.flatMap((row) => options.map((value) => ({ ...row, [field]: value }))),
    [{}],
  );
}

const GOOD_PASSWORD = "Correct-Horse-7";
const long = (n: number, char = "a"): string => char.repeat(n);
const EMAILS = [
  "",
  "   ",
  "ada@example.com",
  "  Ada.Lovelace@Example.COM ",
  "ada",
  "ada@",
  "@example.com",
  "ada@example",
  "ada lovelace@example.com",
  "ada..l@example.com",
  ".ada@example.com",
  "ada@-example.com",
  "ada@example.c",
  "o'brien+tag@example.co.uk",
  `${long(64)}@${long(185, "b")}.com`, // 254 characters: the longest allowed
  `${long(64)}@${long(186, "b")}.com`, // 255
  ` ${long(64)}@${long(185, "b")}.com `, // 254 once trimmed
  long(300),
];
const PASSWORDS = [
  "",
  " ",
  "x",
  "hunter2",
  "password",
  "PASSWORD1!",
  "Ab1!xyz",
  GOOD_PASSWORD,
  "Ünïcödé-Päss9",
  long(1024),
  long(1025),
  `Aa1!${long(125)}`,
];
const NEW_PASSWORDS = [
  "",
  " ",
  "Ab1!xyz",
  "correct-horse-7",
  "CORRECT-HORSE-7",
  "Correct-Horse-x",
  "CorrectHorse7",
  GOOD_PASSWORD,
  `Aa1!${long(124)}`,
  `Aa1!${long(125)}`,
  "Ünïcödé Päss9",
];
const CONFIRMATIONS = ["", GOOD_PASSWORD, "Correct-Horse-8", " Correct-Horse-7"];
const OTPS = [undefined, "", "123456", "123 456", " 123456 ", "12345", "1234567", "abcdef", "１２３４５６", long(65, "1")];
const RECOVERY_CODES = [undefined, "", "   ", "ABCD-EFGH-JKLM", " abcd efgh ", long(64, "R"), ` ${long(64, "R")} `, long(65, "R")];
const CALLBACKS = [undefined, "", "/account", long(2048, "/"), long(2049, "/")];
const TOKENS = ["", "t0ken", long(256), long(257)];

const cases: [string, z.ZodType, (values: Values) => Record<string, string[] | undefined>, Record<string, (string | undefined)[]>][] = [
  ["Login", LoginSchema, checks.checkLogin, { email: EMAILS, password: PASSWORDS, callbackUrl: CALLBACKS }],
  ["SignInCode", SignInCodeSchema, checks.checkSignInCode, { otp: OTPS.slice(1), callbackUrl: CALLBACKS }],
  [
    "SignInRecoveryCode",
    SignInRecoveryCodeSchema,
    checks.checkSignInRecoveryCode,
    { recoveryCode: RECOVERY_CODES.slice(1), callbackUrl: CALLBACKS },
  ],
  [
    "Register",
    RegisterSchema,
    checks.checkRegister,
    {
      name: [undefined, "", "  ", "Ada", long(100, "n"), ` ${long(100, "n")} `, long(101, "n")],
      email: EMAILS,
      password: NEW_PASSWORDS,
      confirmPassword: CONFIRMATIONS,
    },
  ],
  ["ForgotPassword", ForgotPasswordSchema, checks.checkForgotPassword, { email: EMAILS }],
  ["ResendVerification", ResendVerificationSchema, checks.checkResendVerification, { email: EMAILS }],
  ["AdminFindUser", AdminFindUserSchema, checks.checkAdminFindUser, { email: EMAILS }],
  ["ChangeEmail", ChangeEmailSchema, checks.checkChangeEmail, { newEmail: EMAILS }],
  [
    "ResetPassword",
    ResetPasswordSchema,
    checks.checkResetPassword,
    {
      token: TOKENS,
      password: ["", "Ab1!xyz", "correct-horse-7", GOOD_PASSWORD, `Aa1!${long(125)}`],
      confirmPassword: CONFIRMATIONS,
      secondFactor: [undefined, "totp", "recovery", "passkey", "sms"],
      otp: OTPS,
      recoveryCode: RECOVERY_CODES,
      passkey: [undefined, '{"id":"x"}', long(100_001)],
    },
  ],
  [
    "ChangePassword",
    ChangePasswordSchema,
    checks.checkChangePassword,
    { currentPassword: PASSWORDS, password: NEW_PASSWORDS, confirmPassword: CONFIRMATIONS },
  ],
  ["VerifyEmail", VerifyEmailSchema, checks.checkVerifyEmail, { token: TOKENS, password: PASSWORDS }],
  ["ConfirmEmailChange", ConfirmEmailChangeSchema, checks.checkConfirmEmailChange, { token: TOKENS, password: PASSWORDS }],
  ["EnableTwoFactor", EnableTwoFactorSchema, checks.checkEnableTwoFactor, { code: OTPS.slice(1) }],
  ["DeleteAccount", DeleteAccountSchema, checks.checkDeleteAccount, { email: EMAILS }],
  [
    "DeviceCode",
    DeviceCodeSchema,
    checks.checkDeviceCode,
    {
      code: [
        "",
        "   ",
        "BCDF-GHJK",
        "bcdf ghjk",
        "BCDF–GHJK",
        "BCDFGHJ",
        "BCDFGHJKL",
        "ABCD-EFGH",
        "BCDF-GHJ1",
        long(64, " "),
        long(65, " "),
        long(65, "B"),
      ],
    },
  ],
  [
    "ConfirmIdentity",
    ConfirmIdentitySchema,
    checks.checkConfirmIdentity,
    {
      password: ["", GOOD_PASSWORD, long(1025)],
      code: [undefined, "", " ", "123456", "123 456", "12345", "ABCD-EFGH-JKLM", long(64, "R"), long(65, "R"), long(65, "1")],
      otp: [undefined, "", "123456", "12345", long(65, "1")],
      recoveryCode: [undefined, "", "ABCD-EFGH-JKLM", long(65, "R")],
    },
  ],
];

describe("each form's browser check agrees with its server schema", () => {
  it.each(cases)("%s: same fields in error, same messages, for every combination", (_name, schema, check, fields) => {
    const rows = combinations(fields);
    const failing = new Set<string>();
    for (const values of rows) {
      const server = serverMessages(schema, values);
      expect({ values, messages: check(values) }).toEqual({ values, messages: server });
      for (const field of Object.keys(server)) failing.add(field);
    }
    // The table reaches an error on every field a person can get wrong, and a passing row.
    expect(rows.some((values) => schema.safeParse(values).success)).toBe(true);
    expect([...failing].sort()).toEqual(Object.keys(fields).sort());
  });

  it("uses zod's email pattern", () => {
    expect(checks.EMAIL_PATTERN.source).toBe(z.regexes.email.source);
    expect(checks.EMAIL_PATTERN.flags).toBe(z.regexes.email.flags);
  });

  it("gives each broken password rule its own message, as the checklist does", () => {
    expect(checks.checkRegister({ email: "ada@example.com", password: "abc", confirmPassword: "" })).toEqual({
      password: ["Use 8 to 128 characters.", "Add an upper-case letter.", "Add a digit.", "Add a special character, like ! ? # or %."],
      confirmPassword: ["Confirm your password.", "The passwords do not match."],
    });
  });
});
