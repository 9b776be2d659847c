import type { TokenProblem } from "@/lib/single-use-tokens";

/** What a confirmation link to a new address that does not work says. */
export const CHANGE_PROBLEMS: Record<TokenProblem, { title: string; body: string }> = {
  expired: { title: "This link has expired", body: "Confirmation links work for 1 hour. Ask for the change again from your account." },
  used: {
    title: "This link no longer works",
    body: 'It was already used, or the change was cancelled: by a newer request, a password reset or "This wasn\'t me". Your address is unchanged unless you confirmed it.',
  },
  invalid: { title: "This link is not valid", body: "Copy the whole link from the email, or ask for the change again from your account." },
};

/** What an undo link that does not work says. */
export const UNDO_PROBLEMS: Record<TokenProblem, { title: string; body: string }> = {
  expired: { title: "This link has expired", body: "Undo links work for 7 days. If your account was taken over, reset your password." },
  used: { title: "This link has already been used", body: "The old address was already put back and a reset link sent to it." },
  invalid: {
    title: "This link is not valid",
    body: "Copy the whole link from the email. It also stops working once the account's address changed again.",
  },
};
