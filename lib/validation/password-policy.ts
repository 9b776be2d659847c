import { z } from "./zod";

import { PASSWORD_RULES } from "./password-rules";

export * from "./password-rules";

/** A new password: each broken rule becomes its own message. */
export const NewPasswordSchema = z
  .string({ error: "Enter a password." })
  .min(1, "Enter a password.")
  .superRefine((password, ctx) => {
    for (const rule of PASSWORD_RULES) {
      if (!rule.test(password)) ctx.addIssue({ code: "custom", message: rule.message, input: password });
    }
  });
