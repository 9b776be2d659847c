/** How the second step is answered: the authenticator app's code, or one recovery code. */
export type SecondStepMethod = "app" | "recovery";

/** The second-step page for `method`, keeping where the sign-in goes afterwards. */
export function secondStepPath(method: SecondStepMethod, callbackUrl: string): string {
  const params = new URLSearchParams(method === "recovery" ? { method: "recovery", callbackUrl } : { callbackUrl });
  return `/login/two-factor?${params}`;
}
