import type { TokenProblem } from "@/lib/single-use-tokens";

/** What a person is told about a reset link that does not work: which of the three it is (page and API alike). */
export const RESET_LINK_PROBLEMS: Record<TokenProblem, { title: string; body: string }> = {
  expired: {
    title: "This link has expired",
    body: "Reset links work for a limited time. Ask for a new one and use it soon after it arrives.",
  },
  used: {
    title: "This link has already been used",
    body: "Each reset link works once. If you did not just change your password, ask for a new link.",
  },
  invalid: {
    title: "This link is not valid",
    body: "It may be incomplete or mistyped. Copy the whole link from the email, or ask for a new one.",
  },
};

/** What a person is told once a two-factor account's reset link has used up its attempts (page and API alike). */
export const RESET_LINK_ATTEMPTS_SPENT = {
  title: "This link was tried too many times",
  body: "It no longer works. Ask for a new link, then enter it with the code from your authenticator app or a recovery code.",
} as const;
