// The password rules without zod: the live checklist and the forms' checks (form-checks.ts)
// run them in every auth page, which zod stays out of.
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

export interface PasswordRule {
  id: "length" | "upper" | "lower" | "digit" | "special";
  /** Shown in the live checklist. */
  label: string;
  /** Shown as a field error when the rule is broken. */
  message: string;
  test(password: string): boolean;
}

// Shared by the browser (live checklist, instant errors) and the server (the real check).
export const PASSWORD_RULES: readonly PasswordRule[] = [
  {
    id: "length",
    label: `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`,
    message: `Use ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters.`,
    test: (p) => [...p].length >= PASSWORD_MIN_LENGTH && [...p].length <= PASSWORD_MAX_LENGTH,
  },
  {
    id: "upper",
    label: "An upper-case letter",
    message: "Add an upper-case letter.",
    test: (p) => /\p{Lu}/u.test(p),
  },
  {
    id: "lower",
    label: "A lower-case letter",
    message: "Add a lower-case letter.",
    test: (p) => /\p{Ll}/u.test(p),
  },
  { id: "digit", label: "A digit", message: "Add a digit.", test: (p) => /\p{Nd}/u.test(p) },
  {
    id: "special",
    label: "A special character (like ! ? # or %)",
    message: "Add a special character, like ! ? # or %.",
    // Anything that is neither a letter nor a digit counts, a space included (as OWASP lists).
    test: (p) => /[^\p{L}\p{Nd}]/u.test(p),
  },
];

export const COMMON_PASSWORD_MESSAGE = "This password is too common. Choose one that is harder to guess.";
export const COMMON_PASSWORD_LABEL = "Not a commonly used password";
