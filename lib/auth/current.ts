import "server-only";
import type { Session } from "next-auth";
import { redirect } from "next/navigation";
import { auth } from "./config";

/** The signed-in session of this request, or null. */
export async function currentSession(): Promise<Session | null> {
  const session = await auth();
  return session?.user ? session : null;
}

/** The signed-in session, or a redirect to sign-in that comes back to `returnTo`. */
export async function requireSession(returnTo: string): Promise<Session> {
  const session = await currentSession();
  if (!session) redirect(`/login?${new URLSearchParams({ callbackUrl: returnTo })}`);
  return session;
}
