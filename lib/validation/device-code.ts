import { normaliseUserCode, USER_CODE_SHAPE_MESSAGE as SHAPE } from "./user-code";

import { z } from "./zod";

export * from "./user-code";

/** /device's form: the code the tool shows, normalised. */
export const DeviceCodeSchema = z.object({
  code: z
    .string({ error: "Enter the code the tool shows." })
    .max(64, SHAPE)
    .refine((v) => v.trim().length > 0, "Enter the code the tool shows.")
    .transform((v, ctx) => {
      const code = normaliseUserCode(v);
      if (code === null && v.trim().length > 0) ctx.addIssue({ code: "custom", message: SHAPE });
      return code ?? "";
    }),
});
export type DeviceCodeFields = z.input<typeof DeviceCodeSchema>;
