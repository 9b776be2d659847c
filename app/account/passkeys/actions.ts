"use server";

import type { PublicKeyCredentialCreationOptionsJSON } from "@simplewebauthn/server";
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { confirmationNeededMessage } from "@/app/_components/confirm-identity-copy";
import { getDb } from "@/lib/db";
import { isIdentityConfirmed, reauthMinutes } from "@/lib/auth/confirm-identity";
import { sessionCookieName } from "@/lib/auth/cookie-names";
import { requireSession } from "@/lib/auth/current";
import { requestContext } from "@/lib/client-ip";
import { afterResponse } from "@/lib/job-definitions";
import { beginPasskeyRegistration, finishPasskeyRegistration } from "@/lib/second-factor/passkey-ceremony";
import { removePasskey, renamePasskey } from "@/lib/second-factor/passkeys";
import { PasskeyNameSchema, RemovePasskeySchema, RenamePasskeySchema } from "@/lib/validation/passkeys";

const PAGE = "/account/passkeys";

// Adding and removing need "Confirm it's you" within REAUTH_MINUTES, checked here again: the
// page hiding a button proves nothing about a forged post. A ceremony is bound to this
// browser's session token, so options fetched by one session cannot be finished by another.

export type BeginAddPasskeyState =
  { ok: true; options: PublicKeyCredentialCreationOptionsJSON } | { ok: false; message: string; field?: "name" };
export type FinishAddPasskeyState = { ok: true; message: string; recoveryCodes: string[] | null } | { ok: false; message: string };

/** The session's token (the ceremony's binding) and whether it confirmed it's the owner recently. */
async function confirmedSession(): Promise<{ userId: string; email: string; binding: string } | null> {
  const session = await requireSession(PAGE);
  const token = (await cookies()).get(sessionCookieName())?.value;
  if (!token) return null;
  const confirmed = await isIdentityConfirmed(await getDb(), { userId: session.user.id, sessionId: session.sessionId });
  return confirmed ? { userId: session.user.id, email: session.user.email, binding: token } : null;
}

/** Step 1 of adding a passkey: the options for navigator.credentials.create(). */
export async function beginAddPasskeyAction(name: string): Promise<BeginAddPasskeyState> {
  const named = PasskeyNameSchema.safeParse(name);
  if (!named.success) return { ok: false, field: "name", message: named.error.issues[0]?.message ?? "Give the passkey a name." };
  const session = await confirmedSession();
  if (!session) return { ok: false, message: confirmationNeededMessage(reauthMinutes()) };
  return { ok: true, options: await beginPasskeyRegistration(await getDb(), session) };
}

/** Step 2: stores the passkey the device made; the answer carries new recovery codes, once, when the account had none. */
export async function finishAddPasskeyAction(input: { name: string; response: unknown }): Promise<FinishAddPasskeyState> {
  const named = PasskeyNameSchema.safeParse(input.name);
  if (!named.success) return { ok: false, message: named.error.issues[0]?.message ?? "Give the passkey a name." };
  const session = await confirmedSession();
  if (!session) return { ok: false, message: confirmationNeededMessage(reauthMinutes()) };
  const result = await finishPasskeyRegistration(await getDb(), afterResponse, {
    userId: session.userId,
    binding: session.binding,
    response: input.response,
    name: named.data,
    ...requestContext(await headers()),
  });
  if (result.ok) {
    return {
      ok: true,
      message: `Passkey “${result.passkey.name}” added. We emailed you about it.${result.recoveryCodes ? " Save your recovery codes below." : ""}`,
      recoveryCodes: result.recoveryCodes,
    };
  }
  switch (result.code) {
    case "CHALLENGE_EXPIRED":
      return { ok: false, message: "That took too long, or the request was already used. Try adding the passkey again." };
    case "ALREADY_REGISTERED":
      return { ok: false, message: "That passkey is already on an account." };
    case "VERIFICATION_FAILED":
      return {
        ok: false,
        message: "Your device's answer could not be verified (it must check it's you with a fingerprint, face or PIN). Try again.",
      };
  }
}

/** Renames a passkey (plain form post, works without JavaScript). */
export async function renamePasskeyAction(formData: FormData): Promise<void> {
  const session = await requireSession(PAGE);
  const parsed = RenamePasskeySchema.safeParse({ passkeyId: formData.get("passkeyId"), name: formData.get("name") });
  if (!parsed.success) redirect(`${PAGE}?notice=${parsed.error.issues.some((i) => i.path[0] === "name") ? "bad-name" : "not-found"}`);
  const result = await renamePasskey(await getDb(), {
    userId: session.user.id,
    passkeyId: parsed.data.passkeyId,
    name: parsed.data.name,
    ...requestContext(await headers()),
  });
  redirect(`${PAGE}?notice=${result.ok ? "renamed" : "not-found"}`);
}

/** Removes a passkey, for a session that confirmed it's the owner (plain form post). */
export async function removePasskeyAction(formData: FormData): Promise<void> {
  const session = await requireSession(PAGE);
  const parsed = RemovePasskeySchema.safeParse({ passkeyId: formData.get("passkeyId") });
  if (!parsed.success) redirect(`${PAGE}?notice=not-found`);
  const db = await getDb();
  if (!(await isIdentityConfirmed(db, { userId: session.user.id, sessionId: session.sessionId }))) redirect(`${PAGE}?notice=confirm`);
  const result = await removePasskey(db, afterResponse, {
    userId: session.user.id,
    passkeyId: parsed.data.passkeyId,
    ...requestContext(await headers()),
  });
  redirect(`${PAGE}?notice=${result.ok ? "removed" : "not-found"}`);
}
