import type { z } from "zod";

/** What every server action returns to its form. Passwords are never sent back. */
export type FormState<Field extends string = string> =
  | { status: "idle" }
  | {
      status: "error";
      fieldErrors?: Partial<Record<Field, string[]>>;
      formError?: string;
      /** Non-secret values to put back in the form when JavaScript is off. */
      values?: Partial<Record<Field, string>>;
    }
  | {
      status: "success";
      message: string;
      /** Two-factor recovery codes: shown once, in the answer that made them, and stored only hashed. */
      recoveryCodes?: string[];
    };

/** Field errors from a failed zod parse, one list of messages per field. */
export function fieldErrorsOf<Field extends string>(error: z.ZodError): Partial<Record<Field, string[]>> {
  const out: Partial<Record<string, string[]>> = {};
  for (const issue of error.issues) {
    const key = String(issue.path[0] ?? "form");
    (out[key] ??= []).push(issue.message);
  }
  return out as Partial<Record<Field, string[]>>;
}
