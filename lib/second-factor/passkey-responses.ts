import "server-only";
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { z } from "zod";

// The browser's WebAuthn answers as they reach the server (untrusted JSON), parsed before
// anything reads them. Lengths are generous for real authenticators and stop oversized input.

const base64url = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z0-9_-]+$/);

const credential = {
  id: base64url(1_400),
  rawId: base64url(1_400),
  type: z.literal("public-key"),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
};

const RegistrationResponseSchema = z.object({
  ...credential,
  response: z.object({
    clientDataJSON: base64url(4_000),
    attestationObject: base64url(64_000),
    authenticatorData: base64url(64_000).optional(),
    transports: z.array(z.string().max(32)).max(16).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: base64url(4_000).optional(),
  }),
});

const AuthenticationResponseSchema = z.object({
  ...credential,
  response: z.object({
    clientDataJSON: base64url(4_000),
    authenticatorData: base64url(64_000),
    signature: base64url(4_000),
    userHandle: base64url(1_000).optional(),
  }),
});

const ClientDataSchema = z.object({ type: z.string(), challenge: base64url(1_000) });

/** A registration response, or null when it is not one. */
export function parseRegistrationResponse(input: unknown): RegistrationResponseJSON | null {
  const parsed = RegistrationResponseSchema.safeParse(input);
  // Transports the browser names are passed on as hints; the library reads them as strings.
  return parsed.success ? (parsed.data as RegistrationResponseJSON) : null;
}

/** An authentication (assertion) response, or null when it is not one. */
export function parseAuthenticationResponse(input: unknown): AuthenticationResponseJSON | null {
  const parsed = AuthenticationResponseSchema.safeParse(input);
  return parsed.success ? (parsed.data as AuthenticationResponseJSON) : null;
}

/** The challenge the browser signed, read from clientDataJSON (not yet verified), or null. */
export function claimedChallenge(clientDataJSON: string): string | null {
  try {
    const parsed = ClientDataSchema.safeParse(JSON.parse(Buffer.from(clientDataJSON, "base64url").toString("utf8")));
    return parsed.success ? parsed.data.challenge : null;
  } catch {
    return null;
  }
}
