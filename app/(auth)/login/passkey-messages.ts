import { describeWait } from "@/lib/rate-limit";

/** What a passkey sign-in past the per-IP sign-in limit says. */
export const tooManySignIns = (seconds: number): string => `Too many sign-in attempts. Try again in ${describeWait(seconds)}.`;
