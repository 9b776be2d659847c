import { z } from "./zod";
import { EmailSchema } from "./fields";
import { NewPasswordSchema } from "./password-policy";

// One schema per form: the client form resolves with it, the server action re-parses with it.

export const PasswordInput = z
  .string({ error: "Enter your password." })
  .min(1, "Enter your password.")
  .max(1024, "That password is too long.");
const optionalName = z
  .string()
  .trim()
  .max(100, "Use at most 100 characters.")
  .optional()
  .transform((v) => (v ? v : undefined));

/** A 6-digit TOTP code; spaces (as apps group the digits) are ignored. */
export const AuthenticationCodeInput = z
  .string({ error: "Enter the 6-digit code from your authenticator app." })
  .transform((v) => v.replace(/\s+/g, ""))
  .pipe(z.string().regex(/^\d{6}$/, "Enter the 6-digit code from your authenticator app."));

/** One of the account's recovery codes, as printed (case, spaces and dashes are ignored). */
export const RecoveryCodeInput = z
  .string({ error: "Enter one of your recovery codes." })
  .trim()
  .min(1, "Enter one of your recovery codes.")
  .max(64, "That is not a recovery code.");

export const LoginSchema = z.object({
  email: EmailSchema,
  password: PasswordInput,
  callbackUrl: z.string().max(2048).optional(),
});
export type LoginInput = z.input<typeof LoginSchema>;

/** The second step of a sign-in with the authenticator app's code. */
export const SignInCodeSchema = z.object({
  otp: AuthenticationCodeInput,
  callbackUrl: z.string().max(2048).optional(),
});
export type SignInCodeInput = z.input<typeof SignInCodeSchema>;

/** The second step of a sign-in with one of the account's recovery codes. */
export const SignInRecoveryCodeSchema = z.object({
  recoveryCode: RecoveryCodeInput,
  callbackUrl: z.string().max(2048).optional(),
});
export type SignInRecoveryCodeInput = z.input<typeof SignInRecoveryCodeSchema>;

export const RegisterSchema = z
  .object({
    name: optionalName,
    email: EmailSchema,
    password: NewPasswordSchema,
    confirmPassword: z.string().min(1, "Confirm your password."),
  })
  .refine((v) => v.password === v.confirmPassword, {
    path: ["confirmPassword"],
    message: "The passwords do not match.",
  });
export type RegisterInput = z.input<typeof RegisterSchema>;

export const ForgotPasswordSchema = z.object({ email: EmailSchema });
export type ForgotPasswordInput = z.input<typeof ForgotPasswordSchema>;

/**
 * Reset: the new password twice and, for an account with two-factor authentication, the code
 * of the kind the form shows (`secondFactor`: "totp" for "Authentication code", "recovery" for
 * "Recovery code"). Whether a code is needed at all is the server's decision, not this field's.
 */
export const ResetPasswordSchema = z
  .object({
    token: z.string().min(1).max(256),
    password: NewPasswordSchema,
    confirmPassword: z.string().min(1, "Confirm your new password."),
    secondFactor: z.enum(["totp", "recovery", "passkey"]).optional(),
    otp: z.string().max(64).optional(),
    recoveryCode: z.string().max(64).optional(),
    /** A passkey's assertion as JSON, put in by the page's script (a passkey needs JavaScript). */
    passkey: z.string().max(100_000).optional(),
  })
  .refine((v) => v.password === v.confirmPassword, {
    path: ["confirmPassword"],
    message: "The passwords do not match.",
  })
  .superRefine((v, ctx) => {
    const [field, schema] =
      v.secondFactor === "totp" ? (["otp", AuthenticationCodeInput] as const) : (["recoveryCode", RecoveryCodeInput] as const);
    if (!v.secondFactor || v.secondFactor === "passkey") return;
    const checked = schema.safeParse(v[field] ?? "");
    if (!checked.success) ctx.addIssue({ code: "custom", path: [field], message: checked.error.issues[0]?.message ?? "Enter a code." });
  });
export type ResetPasswordInput = z.input<typeof ResetPasswordSchema>;

export const ChangePasswordSchema = z
  .object({
    currentPassword: PasswordInput,
    password: NewPasswordSchema,
    confirmPassword: z.string().min(1, "Confirm your new password."),
  })
  .refine((v) => v.password === v.confirmPassword, {
    path: ["confirmPassword"],
    message: "The passwords do not match.",
  });
export type ChangePasswordInput = z.input<typeof ChangePasswordSchema>;

export const VerifyEmailSchema = z.object({
  token: z.string().min(1).max(256),
  password: PasswordInput,
});
export type VerifyEmailInput = z.input<typeof VerifyEmailSchema>;

export const ResendVerificationSchema = z.object({ email: EmailSchema });
export type ResendVerificationInput = z.input<typeof ResendVerificationSchema>;

/** /admin/users: one account, found by its exact address. */
export const AdminFindUserSchema = z.object({ email: EmailSchema });
export type AdminFindUserInput = z.input<typeof AdminFindUserSchema>;

export const EnableTwoFactorSchema = z.object({ code: AuthenticationCodeInput });
export type EnableTwoFactorInput = z.input<typeof EnableTwoFactorSchema>;
