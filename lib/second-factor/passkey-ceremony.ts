import "server-only";
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/server";
import { and, eq, isNull, lt, sql, type SQL } from "drizzle-orm";
import type { Database } from "@/db/client";
import { passkeys, sessions, users } from "@/db/schema";
import { audit } from "../audit";
import type { RequestContext } from "../client-ip";
import { env } from "../env";
import type { Schedule } from "../jobs/definition";
import { log } from "../log";
import { hashToken } from "../tokens";
import { lockUser } from "../user-lock";
import { PasskeyNameSchema } from "../validation/passkeys";
import { enqueuePasskeyNotice } from "./passkey-notify";
import { claimedChallenge, parseAuthenticationResponse, parseRegistrationResponse } from "./passkey-responses";
import type { PasskeySummary } from "./passkeys";
import { recoveryCodesLeft, storeRecoveryCodes } from "./recovery-codes";
import { CHALLENGE_TTL_SECONDS, consumeChallenge, issueChallenge } from "./webauthn-challenges";

export type PasskeyAuthenticationPurpose = "sign-in" | "second-factor" | "reset" | "confirm";

/**
 * The relying party every ceremony names and checks: from APP_URL alone. The request's Host
 * header never enters, so a forged Host cannot make the server accept another site's passkeys.
 */
export function passkeyRelyingParty(): { id: string; name: string; origin: string } {
  const url = new URL(env().APP_URL);
  return { id: url.hostname, name: "Rekey", origin: url.origin };
}

/** The options for navigator.credentials.create(): a discoverable credential with user verification, bound to `binding`. */
export async function beginPasskeyRegistration(
  db: Database,
  input: { userId: string; email: string; binding: string },
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const rp = passkeyRelyingParty();
  const existing = await db
    .select({ id: passkeys.credentialId, transports: passkeys.transports })
    .from(passkeys)
    .where(eq(passkeys.userId, input.userId));
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: input.email,
    userDisplayName: input.email,
    // The user handle a discoverable passkey gives back at sign-in: the account's id, no address.
    userID: new TextEncoder().encode(input.userId),
    challenge: issueChallenge({ purpose: "register", userId: input.userId, binding: input.binding }),
    timeout: CHALLENGE_TTL_SECONDS * 1000,
    attestationType: "none",
    excludeCredentials: existing.map((p) => ({ id: p.id, transports: p.transports ?? undefined })),
    authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "required" },
  });
  return options;
}

export type FinishRegistrationResult =
  | { ok: true; passkey: PasskeySummary; recoveryCodes: string[] | null }
  | { ok: false; code: "CHALLENGE_EXPIRED" | "VERIFICATION_FAILED" | "ALREADY_REGISTERED" };

/**
 * Verifies a new passkey against the challenge this user's ceremony was given and stores it,
 * with its audit row and the owner's email, in one transaction. A passkey is a second factor:
 * an account without recovery codes gets a set, returned here only (shown once).
 */
export async function finishPasskeyRegistration(
  db: Database,
  schedule: Schedule,
  input: { userId: string; binding: string; response: unknown; name: string } & RequestContext,
): Promise<FinishRegistrationResult> {
  const response = parseRegistrationResponse(input.response);
  const challenge = response && claimedChallenge(response.response.clientDataJSON);
  if (!response || !challenge) return { ok: false, code: "VERIFICATION_FAILED" };
  // Spent before verifying: a response that fails verification cannot be retried against it.
  if (!(await consumeChallenge(db, challenge, { purpose: "register", userId: input.userId, binding: input.binding }))) {
    return { ok: false, code: "CHALLENGE_EXPIRED" };
  }
  const rp = passkeyRelyingParty();
  let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: true,
    });
  } catch (error) {
    log("info", "passkey.registration_refused", { userId: input.userId }, error);
    return { ok: false, code: "VERIFICATION_FAILED" };
  }
  if (!verified.verified) return { ok: false, code: "VERIFICATION_FAILED" };
  const info = verified.registrationInfo;
  const named = PasskeyNameSchema.safeParse(input.name);
  const name = named.success ? named.data : "Passkey";

  return db.transaction(async (tx): Promise<FinishRegistrationResult> => {
    if (!(await lockUser(tx, input.userId))) return { ok: false, code: "VERIFICATION_FAILED" };
    const [user] = await tx.select({ email: users.email, version: users.credentialsVersion }).from(users).where(eq(users.id, input.userId));
    const [row] = await tx
      .insert(passkeys)
      .values({
        userId: input.userId,
        credentialId: info.credential.id,
        publicKey: Buffer.from(info.credential.publicKey).toString("base64url"),
        counter: info.credential.counter,
        transports: info.credential.transports ?? null,
        deviceType: info.credentialDeviceType,
        backedUp: info.credentialBackedUp,
        name,
        addedCredentialsVersion: user!.version,
      })
      .onConflictDoNothing({ target: passkeys.credentialId })
      .returning({
        id: passkeys.id,
        name: passkeys.name,
        createdAt: passkeys.createdAt,
        lastUsedAt: passkeys.lastUsedAt,
        deviceType: passkeys.deviceType,
        backedUp: passkeys.backedUp,
      });
    if (!row) return { ok: false, code: "ALREADY_REGISTERED" };
    // The session that added it just used the new factor (user verification on the device that
    // holds it), as turning two-factor on marks its session: it stays confirmed, now that the
    // account has a second factor ("Confirm it's you" asks for one).
    await tx
      .update(sessions)
      .set({ secondFactorAt: sql`now()` })
      .where(and(eq(sessions.sessionToken, hashToken(input.binding)), eq(sessions.userId, input.userId)));
    const recoveryCodes = (await recoveryCodesLeft(tx, input.userId)) === 0 ? await storeRecoveryCodes(tx, input.userId) : null;
    await audit(tx, {
      event: "passkey.added",
      userId: input.userId,
      ip: input.ip,
      userAgent: input.userAgent,
      details: { passkey_id: row.id, device_type: row.deviceType, backed_up: row.backedUp, recovery_codes_made: recoveryCodes !== null },
    });
    await enqueuePasskeyNotice(db, tx, schedule, {
      userId: input.userId,
      email: user!.email,
      change: "added",
      name,
      credentialsVersion: user!.version,
      ip: input.ip,
      userAgent: input.userAgent,
    });
    return { ok: true, passkey: row, recoveryCodes };
  });
}

/**
 * The options for navigator.credentials.get(), bound to `binding`. With a user, the request
 * lists that user's passkeys; without (null), any discoverable passkey for this site may answer.
 */
export async function beginPasskeyAuthentication(
  db: Database,
  input: { purpose: PasskeyAuthenticationPurpose; userId: string | null; binding: string },
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const allowed =
    input.userId === null
      ? []
      : await db
          .select({ id: passkeys.credentialId, transports: passkeys.transports })
          .from(passkeys)
          .where(eq(passkeys.userId, input.userId));
  const options = await generateAuthenticationOptions({
    rpID: passkeyRelyingParty().id,
    allowCredentials: allowed.map((p) => ({ id: p.id, transports: p.transports ?? undefined })),
    userVerification: "required",
    challenge: issueChallenge({ purpose: input.purpose, userId: input.userId, binding: input.binding }),
    timeout: CHALLENGE_TTL_SECONDS * 1000,
  });
  return options;
}

export type FinishAuthenticationResult =
  | { ok: true; userId: string; passkeyId: string; credentialsVersion: number }
  | { ok: false; code: "CHALLENGE_EXPIRED" | "VERIFICATION_FAILED" };

/**
 * Verifies an assertion against the challenge of this purpose, binding and user, spending the
 * challenge first. An unknown passkey answers exactly as a bad signature does. The signature
 * counter must grow (unless the authenticator keeps none) and is stored by a conditional
 * UPDATE, so of two parallel assertions with one counter value only one passes. Returns the
 * user's credentials version, read with the passkey, for the session the caller creates.
 */
export async function finishPasskeyAuthentication(
  db: Database,
  input: { purpose: PasskeyAuthenticationPurpose; binding: string; userId: string | null; response: unknown },
): Promise<FinishAuthenticationResult> {
  const refused = { ok: false, code: "VERIFICATION_FAILED" } as const;
  const response = parseAuthenticationResponse(input.response);
  const challenge = response && claimedChallenge(response.response.clientDataJSON);
  if (!response || !challenge) return refused;
  if (!(await consumeChallenge(db, challenge, { purpose: input.purpose, userId: input.userId, binding: input.binding }))) {
    return { ok: false, code: "CHALLENGE_EXPIRED" };
  }
  const conditions: SQL[] = [eq(passkeys.credentialId, response.id), isNull(users.deletionRequestedAt)];
  if (input.userId !== null) conditions.push(eq(passkeys.userId, input.userId));
  const [stored] = await db
    .select({
      id: passkeys.id,
      userId: passkeys.userId,
      credentialId: passkeys.credentialId,
      publicKey: passkeys.publicKey,
      counter: passkeys.counter,
      transports: passkeys.transports,
      credentialsVersion: users.credentialsVersion,
    })
    .from(passkeys)
    .innerJoin(users, eq(users.id, passkeys.userId))
    .where(and(...conditions));
  if (!stored) return refused;
  // A discoverable passkey names its account too: it must be the one the credential belongs to.
  const handle = response.response.userHandle;
  if (handle !== undefined && Buffer.from(handle, "base64url").toString("utf8") !== stored.userId) return refused;

  const rp = passkeyRelyingParty();
  let newCounter: number;
  try {
    const verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      credential: {
        id: stored.credentialId,
        publicKey: new Uint8Array(Buffer.from(stored.publicKey, "base64url")),
        counter: stored.counter,
        transports: stored.transports ?? undefined,
      },
      requireUserVerification: true,
    });
    if (!verified.verified) return refused;
    newCounter = verified.authenticationInfo.newCounter;
  } catch (error) {
    log("info", "passkey.assertion_refused", { userId: stored.userId, passkeyId: stored.id }, error);
    return refused;
  }
  // A counter that does not grow means a cloned authenticator (or a replay); 0 and 0 is one that keeps none.
  if (stored.counter !== 0 && newCounter <= stored.counter) return refused;
  const [updated] = await db
    .update(passkeys)
    .set({ counter: newCounter, lastUsedAt: sql`now()` })
    .where(and(eq(passkeys.id, stored.id), newCounter === 0 ? eq(passkeys.counter, 0) : lt(passkeys.counter, newCounter)))
    .returning({ id: passkeys.id });
  if (!updated) return refused;
  return { ok: true, userId: stored.userId, passkeyId: stored.id, credentialsVersion: stored.credentialsVersion };
}
