// The user code of the device flow (RFC 8628 §6.1), shared by /device's form and lib/device/.
// Without zod, so that the form's own check (form-checks.ts) does not bring zod to the browser.
// 20 consonants without look-alikes (no vowels, so no words; no digits, so no 0/O or 1/I/L):
// 8 of them are 20^8 ≈ 2.6e10 codes, enough for a code that lives minutes while tries are counted.
export const USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";
export const USER_CODE_LENGTH = 8;

/**
 * What a person typed, as a stored code would be: case ignored, dashes and spaces dropped. Null
 * when it cannot be a code (wrong length, a character outside the alphabet).
 */
export function normaliseUserCode(input: string): string | null {
  const code = input.toUpperCase().replace(/[\s\-\u2010-\u2015]/g, "");
  if (code.length !== USER_CODE_LENGTH) return null;
  for (const char of code) if (!USER_CODE_ALPHABET.includes(char)) return null;
  return code;
}

/** "BCDF-GHJK": how a person sees a code. */
export function formatUserCode(normalised: string): string {
  return `${normalised.slice(0, 4)}-${normalised.slice(4)}`;
}

/** Shown when what was typed cannot be a code. */
export const USER_CODE_SHAPE_MESSAGE = "A code has 8 letters, like BCDF-GHJK.";
