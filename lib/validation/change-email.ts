import { z } from "./zod";
import { EmailSchema } from "./fields";
import { PasswordInput } from "./forms";

/** /account/email: the address to move the account to. */
export const ChangeEmailSchema = z.object({
  newEmail: EmailSchema,
});
export type ChangeEmailInput = z.input<typeof ChangeEmailSchema>;

/** The page of the link sent to the new address: the link's token and the account's password. */
export const ConfirmEmailChangeSchema = z.object({
  token: z.string().min(1).max(256),
  password: PasswordInput,
});
export type ConfirmEmailChangeInput = z.input<typeof ConfirmEmailChangeSchema>;
