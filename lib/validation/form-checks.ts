// The forms' instant checks in the browser: the rules of the zod schemas in forms.ts,
// confirm-identity.ts, change-email.ts, delete-account.ts and device-code.ts, written without
// zod. zod and its resolver were 92 KiB of compressed script every auth page fetched right
// after load; these checks are a few hundred bytes. The server still parses every post with
// the full schema, and form-checks.test.ts holds the two to the same verdict, field and
// message on a table of inputs, so a rule changed in one place and not the other fails there.
import type { ChangeEmailInput, ConfirmEmailChangeInput } from "./change-email";
import type { ConfirmIdentityFields } from "./confirm-identity";
import type { DeleteAccountFields } from "./delete-account";
import type { DeviceCodeFields } from "./device-code";
import type {
  AdminFindUserInput,
  ChangePasswordInput,
  EnableTwoFactorInput,
  ForgotPasswordInput,
  LoginInput,
  RegisterInput,
  ResendVerificationInput,
  ResetPasswordInput,
  SignInCodeInput,
  SignInRecoveryCodeInput,
  VerifyEmailInput,
} from "./forms";
import { PASSWORD_RULES } from "./password-rules";
import { normaliseUserCode, USER_CODE_SHAPE_MESSAGE } from "./user-code";

/** The messages of each field in error; a field without errors is absent. */
export type FieldMessages<Values> = Partial<Record<Extract<keyof Values, string>, string[]>>;
/** A form's check: its values as the form holds them, the messages to show. */
export type FormCheck<Values> = (values: Partial<Values>) => FieldMessages<Values>;

type Messages = string[];

// zod's own wording for the hidden fields' limits (a person never sees these: the page sets them).
const tooBig = (max: number): string => `Too big: expected string to have <=${max} characters`;
const TOO_SHORT = "Too small: expected string to have >=1 characters";

/** zod's email pattern (z.regexes.email; the test compares the two). */
export const EMAIL_PATTERN = /^(?:[A-Za-z0-9_'+\-]+\.)*[A-Za-z0-9_'+\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$/;

function lengthWithin(value: string | undefined, min: number, max: number): Messages {
  const v = value ?? "";
  return v.length < min ? [TOO_SHORT] : v.length > max ? [tooBig(max)] : [];
}

function email(value: string | undefined): Messages {
  const v = (value ?? "").trim();
  if (!v) return ["Enter your email address."];
  if (v.length > 254) return ["That email address is too long."];
  return EMAIL_PATTERN.test(v) ? [] : ["Enter a valid email address, like name@example.com."];
}

function password(value: string | undefined): Messages {
  const v = value ?? "";
  return !v ? ["Enter your password."] : v.length > 1024 ? ["That password is too long."] : [];
}

function newPassword(value: string | undefined): Messages {
  const v = value ?? "";
  return [...(v ? [] : ["Enter a password."]), ...PASSWORD_RULES.filter((rule) => !rule.test(v)).map((rule) => rule.message)];
}

/** `compared`: false where zod skips the object's refinement that compares the two. */
function confirmation(value: string | undefined, of: string | undefined, empty: string, compared = true): Messages {
  return [...((value ?? "") ? [] : [empty]), ...(compared && value !== of ? ["The passwords do not match."] : [])];
}

const AUTHENTICATION_CODE = "Enter the 6-digit code from your authenticator app.";
function authenticationCode(value: string | undefined): Messages {
  return /^\d{6}$/.test((value ?? "").replace(/\s+/g, "")) ? [] : [AUTHENTICATION_CODE];
}

function recoveryCode(value: string | undefined): Messages {
  const v = (value ?? "").trim();
  return !v ? ["Enter one of your recovery codes."] : v.length > 64 ? ["That is not a recovery code."] : [];
}

const callbackUrl = (value: string | undefined): Messages => (value !== undefined && value.length > 2048 ? [tooBig(2048)] : []);
const atMost = (value: string | undefined, max: number, message = tooBig(max)): Messages =>
  value !== undefined && value.length > max ? [message] : [];

/** Drops the fields without messages. */
function only<Values>(fields: Record<string, Messages>): FieldMessages<Values> {
  return Object.fromEntries(Object.entries(fields).filter(([, m]) => m.length > 0)) as FieldMessages<Values>;
}

const emailOnly =
  <Values>(field: Extract<keyof Values, string>): FormCheck<Values> =>
  (v) =>
    only({ [field]: email((v as Record<string, string | undefined>)[field]) });

export const checkLogin: FormCheck<LoginInput> = (v) =>
  only({ email: email(v.email), password: password(v.password), callbackUrl: callbackUrl(v.callbackUrl) });

export const checkSignInCode: FormCheck<SignInCodeInput> = (v) =>
  only({ otp: authenticationCode(v.otp), callbackUrl: callbackUrl(v.callbackUrl) });

export const checkSignInRecoveryCode: FormCheck<SignInRecoveryCodeInput> = (v) =>
  only({ recoveryCode: recoveryCode(v.recoveryCode), callbackUrl: callbackUrl(v.callbackUrl) });

export const checkRegister: FormCheck<RegisterInput> = (v) =>
  only({
    name: atMost(v.name?.trim(), 100, "Use at most 100 characters."),
    email: email(v.email),
    password: newPassword(v.password),
    confirmPassword: confirmation(v.confirmPassword, v.password, "Confirm your password."),
  });

export const checkForgotPassword: FormCheck<ForgotPasswordInput> = emailOnly("email");
export const checkResendVerification: FormCheck<ResendVerificationInput> = emailOnly("email");
export const checkAdminFindUser: FormCheck<AdminFindUserInput> = emailOnly("email");
export const checkChangeEmail: FormCheck<ChangeEmailInput> = emailOnly("newEmail");

export const checkResetPassword: FormCheck<ResetPasswordInput> = (v) => {
  // zod skips a schema's own refinements (matching passwords, the code) once a field fails its
  // type, as an unknown `secondFactor` does.
  const knownFactor =
    v.secondFactor === undefined || v.secondFactor === "totp" || v.secondFactor === "recovery" || v.secondFactor === "passkey";
  const fields: Record<string, Messages> = {
    token: lengthWithin(v.token, 1, 256),
    password: newPassword(v.password),
    confirmPassword: confirmation(v.confirmPassword, v.password, "Confirm your new password.", knownFactor),
    secondFactor: knownFactor ? [] : ['Invalid option: expected one of "totp"|"recovery"|"passkey"'],
    otp: atMost(v.otp, 64),
    recoveryCode: atMost(v.recoveryCode, 64),
    // A passkey's assertion, put in by the page's script; the server verifies it.
    passkey: atMost(v.passkey, 100_000),
  };
  // The code of the kind the page asked for; whether one is needed at all is the server's call.
  if (knownFactor && v.secondFactor === "totp") fields.otp!.push(...authenticationCode(v.otp).slice(0, 1));
  else if (knownFactor && v.secondFactor === "recovery") fields.recoveryCode!.push(...recoveryCode(v.recoveryCode).slice(0, 1));
  return only(fields);
};

export const checkChangePassword: FormCheck<ChangePasswordInput> = (v) =>
  only({
    currentPassword: password(v.currentPassword),
    password: newPassword(v.password),
    confirmPassword: confirmation(v.confirmPassword, v.password, "Confirm your new password."),
  });

export const checkVerifyEmail: FormCheck<VerifyEmailInput> = (v) =>
  only({ token: lengthWithin(v.token, 1, 256), password: password(v.password) });

export const checkConfirmEmailChange: FormCheck<ConfirmEmailChangeInput> = (v) =>
  only({ token: lengthWithin(v.token, 1, 256), password: password(v.password) });

export const checkEnableTwoFactor: FormCheck<EnableTwoFactorInput> = (v) => only({ code: authenticationCode(v.code) });

export const checkDeleteAccount: FormCheck<DeleteAccountFields> = (v) => {
  const typed = (v.email ?? "").trim();
  return only({
    email: !typed ? ["Type your email address to confirm."] : typed.length > 254 ? ["That email address is too long."] : [],
  });
};

export const checkDeviceCode: FormCheck<DeviceCodeFields> = (v) => {
  const typed = v.code ?? "";
  const blank = typed.trim().length === 0;
  const messages = [...(typed.length > 64 ? [USER_CODE_SHAPE_MESSAGE] : []), ...(blank ? ["Enter the code the tool shows."] : [])];
  if (messages.length === 0 && normaliseUserCode(typed) === null) messages.push(USER_CODE_SHAPE_MESSAGE);
  return only({ code: messages });
};

const SIX_DIGITS = /^\d{6}$/;
const CODE_FIELDS = ["code", "otp", "recoveryCode"] as const;

export const checkConfirmIdentity: FormCheck<ConfirmIdentityFields> = (v) => {
  const fields: Record<string, Messages> = {
    password: password(v.password),
    code: atMost(v.code, 64, "That is not a code."),
    otp: atMost(v.otp, 64, "That is not a code."),
    recoveryCode: atMost(v.recoveryCode, 64, "That is not a recovery code."),
  };
  const given = CODE_FIELDS.filter((field) => v[field]?.trim());
  if (given.length > 1) fields[given[1]!]!.push("Enter one code only.");
  for (const field of given) {
    const value = v[field];
    const isOtp = field === "otp" || (field === "code" && SIX_DIGITS.test(value!.replace(/\s+/g, "")));
    fields[field]!.push(...(isOtp ? authenticationCode(value) : recoveryCode(value)).slice(0, 1));
  }
  return only(fields);
};
