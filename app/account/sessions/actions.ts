"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { z } from "zod";
import { getDb } from "@/lib/db";
import { isIdentityConfirmed } from "@/lib/auth/confirm-identity";
import { requireSession } from "@/lib/auth/current";
import { afterResponse } from "@/lib/job-definitions";
import { removeAllPasskeys } from "@/lib/second-factor/passkeys";
import { signOutOtherSessions, signOutSession } from "@/lib/auth/user-sessions";
import { requestContext } from "@/lib/client-ip";

const SESSIONS_PAGE = "/account/sessions";

const SignOutSessionSchema = z.object({ sessionId: z.string().max(64) });

// Both actions are public endpoints: each checks the signed-in user again and passes only that
// user's id down, so a posted session id can never reach another user's sessions.

/** Ends one of the signed-in user's other sessions (plain form post, works without JavaScript). */
export async function signOutSessionAction(formData: FormData): Promise<void> {
  const session = await requireSession(SESSIONS_PAGE);
  const parsed = SignOutSessionSchema.safeParse({ sessionId: formData.get("sessionId") });
  const requestHeaders = await headers();
  const ended =
    parsed.success &&
    (await signOutSession(await getDb(), {
      userId: session.user.id,
      sessionId: parsed.data.sessionId,
      ...requestContext(requestHeaders),
    }));
  redirect(`${SESSIONS_PAGE}?notice=${ended ? "signed-out-one" : "already-ended"}`);
}

/** Ends every session of the signed-in user except this one. */
export async function signOutOtherSessionsAction(): Promise<void> {
  const session = await requireSession(SESSIONS_PAGE);
  const requestHeaders = await headers();
  await signOutOtherSessions(await getDb(), {
    userId: session.user.id,
    currentSessionId: session.sessionId,
    ...requestContext(requestHeaders),
  });
  redirect(`${SESSIONS_PAGE}?notice=signed-out-others`);
}

/**
 * Removes every passkey of the account (after a reset or "This wasn't me", when one of them may
 * be an intruder's), for a session that confirmed it's the owner within REAUTH_MINUTES.
 */
export async function removeAllPasskeysAction(): Promise<void> {
  const session = await requireSession(SESSIONS_PAGE);
  const db = await getDb();
  if (!(await isIdentityConfirmed(db, { userId: session.user.id, sessionId: session.sessionId }))) {
    redirect(`${SESSIONS_PAGE}?notice=confirm-passkeys`);
  }
  const { removed } = await removeAllPasskeys(db, afterResponse, { userId: session.user.id, ...requestContext(await headers()) });
  redirect(`${SESSIONS_PAGE}?notice=${removed > 0 ? "passkeys-removed" : "no-passkeys"}`);
}
