// A passkey for a test user, added as the account page adds one: a registration ceremony bound
// to a session, answered by a software authenticator.
import { randomBytes } from "node:crypto";
import type { Database } from "@/db/client";
import { beginPasskeyRegistration, finishPasskeyRegistration } from "@/lib/second-factor/passkey-ceremony";
import { CHROME_ON_WINDOWS, uniqueIp } from "./reset-helpers";
import { SoftwareAuthenticator } from "./software-authenticator";

/** Registers `authenticator` (a new one unless given) as a passkey of `user`; returns it and the recovery codes made, if any. */
export async function addPasskey(
  db: Database,
  user: { id: string; email: string },
  authenticator: SoftwareAuthenticator = new SoftwareAuthenticator(),
): Promise<{ authenticator: SoftwareAuthenticator; recoveryCodes: string[] | null }> {
  const binding = randomBytes(32).toString("base64url");
  const options = await beginPasskeyRegistration(db, { userId: user.id, email: user.email, binding });
  const added = await finishPasskeyRegistration(db, () => {}, {
    userId: user.id,
    binding,
    response: authenticator.register(options),
    name: "Test key",
    ip: uniqueIp(),
    userAgent: CHROME_ON_WINDOWS,
  });
  if (!added.ok) throw new Error(`passkey not added: ${added.code}`);
  return { authenticator, recoveryCodes: added.recoveryCodes };
}
