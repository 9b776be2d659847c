import { z } from "./zod";

export const PASSKEY_NAME_MAX = 64;

/** The name a person gives a passkey ("Work laptop"): trimmed, 1 to 64 characters, no control characters. */
export const PasskeyNameSchema = z
  .string({ error: "Give the passkey a name." })
  .trim()
  .min(1, "Give the passkey a name.")
  .max(PASSKEY_NAME_MAX, `Keep the name under ${PASSKEY_NAME_MAX + 1} characters.`)
  .refine((name) => !/[\u0000-\u001f\u007f]/.test(name), "Use letters, digits and punctuation only.");

/** Renaming a passkey (/account/passkeys). */
export const RenamePasskeySchema = z.object({
  passkeyId: z.uuid({ error: "That passkey does not exist." }),
  name: PasskeyNameSchema,
});

/** Removing a passkey (/account/passkeys). */
export const RemovePasskeySchema = z.object({
  passkeyId: z.uuid({ error: "That passkey does not exist." }),
});
