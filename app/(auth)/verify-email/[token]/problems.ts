import type { TokenProblem } from "@/lib/single-use-tokens";

/** What a verification link that does not work says, on its page and after a submission. */
export const VERIFY_PROBLEMS: Record<TokenProblem, { title: string; body: string }> = {
  expired: { title: "This link has expired", body: "Confirmation links work for 24 hours. Ask for a new one." },
  used: { title: "This link has already been used", body: "Your address may already be confirmed. Sign in to check." },
  invalid: {
    title: "This link is not valid",
    body: "It may be incomplete or mistyped, or a later registration with this address replaced it. Use the newest link, or ask for a new one.",
  },
};
