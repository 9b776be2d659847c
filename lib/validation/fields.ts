import { z } from "./zod";

/** Trimmed, lower-cased email: the one form every address is stored and looked up in. */
export const EmailSchema = z
  .string({ error: "Enter your email address." })
  .trim()
  .min(1, "Enter your email address.")
  .max(254, "That email address is too long.")
  .pipe(z.email({ error: "Enter a valid email address, like name@example.com." }))
  .transform((email) => email.toLowerCase());

/** Normalises an address the same way EmailSchema does (for already-validated input). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** "j***@example.com": enough to recognise your own address, not enough to learn someone's. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  if (at < 1) return "***";
  return `${email[0]}***${email.slice(at)}`;
}
