import { z } from "./zod";
import { AuthenticationCodeInput, PasswordInput, RecoveryCodeInput } from "./forms";

const CODE_SHAPE = /^\d{6}$/;

/**
 * "Confirm it's you": the password and, when the account has two-factor on, one code. The form
 * sends the code as `code` (an authenticator's 6 digits or a recovery code, told apart by their
 * shape); a JSON client may send `otp` or `recoveryCode` instead. Whether a code is needed is the
 * server's decision. Parsed, it is what `confirmIdentity` takes: `{ password, otp?, recoveryCode? }`.
 */
export const ConfirmIdentitySchema = z
  .object({
    password: PasswordInput,
    code: z.string().max(64, "That is not a code.").optional(),
    otp: z.string().max(64, "That is not a code.").optional(),
    recoveryCode: z.string().max(64, "That is not a recovery code.").optional(),
  })
  .superRefine((v, ctx) => {
    const given = (["code", "otp", "recoveryCode"] as const).filter((field) => v[field]?.trim());
    if (given.length > 1) ctx.addIssue({ code: "custom", path: [given[1]!], message: "Enter one code only." });
    for (const field of given) {
      const schema =
        field === "otp" || (field === "code" && CODE_SHAPE.test(v.code!.replace(/\s+/g, ""))) ? AuthenticationCodeInput : RecoveryCodeInput;
      const checked = schema.safeParse(v[field]);
      if (!checked.success) ctx.addIssue({ code: "custom", path: [field], message: checked.error.issues[0]?.message ?? "Enter a code." });
    }
  })
  .transform((v) => {
    const code = v.code?.replace(/\s+/g, "");
    const otp = v.otp?.replace(/\s+/g, "") || (code && CODE_SHAPE.test(code) ? code : undefined);
    const recoveryCode = v.recoveryCode?.trim() || (code && !CODE_SHAPE.test(code) ? v.code!.trim() : undefined);
    return { password: v.password, otp, recoveryCode };
  });
export type ConfirmIdentityFields = z.input<typeof ConfirmIdentitySchema>;
