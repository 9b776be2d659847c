import "server-only";
import type { Session } from "next-auth";
import { redirect } from "next/navigation";
import { cache } from "react";
import { auth } from "./config";

/**
 * The signed-in session of this request, or null. Cached per request: whatever asks during one
 * render (layout, page, components) shares one session look-up.
 */
export const currentSession = cache(async (): Promise<Session | null> => {
  const session = await auth();
  return session?.user ? session : null;
});

/** The signed-in session, or a redirect to sign-in that comes back to `returnTo`. */
export async function requireSession(returnTo: string): Promise<Session> {
  const session = await currentSession();
  if (!session) redirect(`/login?${new URLSearchParams({ callbackUrl: returnTo })}`);
  return session;
}
