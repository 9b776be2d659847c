// Turning two-factor authentication on for a test user, as a person would: the key is read
// from the "Setup key" text and the first code typed from it, in a session that just signed in
// (so "Confirm it's you" holds).
import type { Database } from "@/db/client";
import { revokeUserSession } from "@/lib/auth/user-sessions";
import { confirmEnrolment, offerEnrolment } from "@/lib/second-factor/enrolment";
import { totpCode } from "@/lib/second-factor/totp";
import { CHROME_ON_WINDOWS, uniqueIp } from "./reset-helpers";
import { insertSession } from "./sessions";

/**
 * Enrols `user` from the session `sessionId` (else from a session of its own, ended afterwards)
 * and returns the TOTP key and the ten recovery codes. Enrolling ends the user's other sessions
 * that never passed a second factor.
 */
export async function enrol(
  db: Database,
  user: { id: string; email: string },
  options: { sessionId?: string } = {},
): Promise<{ key: string; codes: string[] }> {
  const own = options.sessionId ? null : await insertSession(db, { userId: user.id, userAgent: CHROME_ON_WINDOWS, ip: null });
  const sessionId = options.sessionId ?? own!.id;
  const offer = await offerEnrolment(db, { ...user, sessionId });
  if (!offer.ok) throw new Error(offer.code);
  const key = offer.setupKey.replace(/\s+/g, "");
  // The previous step's code: the tests' own codes (the current step and later) stay unspent.
  // A 30 s step must not end between computing it and the check, which would make it two steps
  // old (outside the one step of drift allowed): near the end of a step, wait for the next.
  const intoStep = Date.now() % 30_000;
  if (intoStep > 28_000) await new Promise((resolve) => setTimeout(resolve, 30_000 - intoStep + 50));
  const confirmed = await confirmEnrolment(
    db,
    { userId: user.id, sessionId, code: totpCode(key, Date.now() - 30_000), ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS },
    () => {},
  );
  if (!confirmed.ok) throw new Error(confirmed.code);
  if (own) await revokeUserSession(db, user.id, own.id);
  return { key, codes: confirmed.recoveryCodes };
}
