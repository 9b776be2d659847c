import { z } from "./zod";

/**
 * Deleting the account: the account's address, typed (checked against the account by the
 * server, which alone knows it for certain; any case and surrounding spaces are fine).
 */
export const DeleteAccountSchema = z.object({
  email: z
    .string({ error: "Type your email address to confirm." })
    .trim()
    .min(1, "Type your email address to confirm.")
    .max(254, "That email address is too long."),
});
export type DeleteAccountFields = z.input<typeof DeleteAccountSchema>;
