// A passkey without a device: Chromium's virtual authenticator over the DevTools protocol
// (CDP WebAuthn domain). It answers navigator.credentials as a platform authenticator with
// user verification would; tests read its credentials and switch user verification off.
import { randomBytes } from "node:crypto";
import type { CDPSession, Page } from "@playwright/test";
import type { Sql } from "postgres";

export interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  userHandle?: string;
  signCount: number;
}

export interface VirtualAuthenticator {
  authenticatorId: string;
  cdp: CDPSession;
  /** The credentials the authenticator holds now. */
  credentials(): Promise<VirtualCredential[]>;
  /** Whether the next ceremonies report user verification (fingerprint, PIN) as done. */
  setUserVerified(verified: boolean): Promise<void>;
  /** Resolves at the next credential the authenticator creates (navigator.credentials.create). */
  nextCredentialAdded(): Promise<VirtualCredential>;
  /** Resolves at the next assertion it signs (navigator.credentials.get). */
  nextCredentialAsserted(): Promise<VirtualCredential>;
  remove(): Promise<void>;
}

export interface VirtualAuthenticatorOptions {
  /** Default true: the authenticator keeps discoverable credentials (passkeys). */
  hasResidentKey?: boolean;
  /** Default true. */
  isUserVerified?: boolean;
  /** Default true: no prompt, the "touch" happens at once. */
  automaticPresenceSimulation?: boolean;
}

/** Adds a virtual platform authenticator (CTAP2, internal transport, user verification) to `page`'s browser. */
export async function addVirtualAuthenticator(page: Page, options: VirtualAuthenticatorOptions = {}): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: options.hasResidentKey ?? true,
      hasUserVerification: true,
      isUserVerified: options.isUserVerified ?? true,
      automaticPresenceSimulation: options.automaticPresenceSimulation ?? true,
    },
  });
  const next = (event: "WebAuthn.credentialAdded" | "WebAuthn.credentialAsserted") =>
    new Promise<VirtualCredential>((resolve) => {
      const listener = (payload: { authenticatorId: string; credential: VirtualCredential }) => {
        if (payload.authenticatorId !== authenticatorId) return;
        cdp.off(event, listener);
        resolve(payload.credential);
      };
      cdp.on(event, listener);
    });
  return {
    authenticatorId,
    cdp,
    credentials: async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials as VirtualCredential[],
    setUserVerified: async (verified) => {
      await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: verified });
    },
    nextCredentialAdded: () => next("WebAuthn.credentialAdded"),
    nextCredentialAsserted: () => next("WebAuthn.credentialAsserted"),
    remove: async () => {
      await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId });
    },
  };
}

/**
 * A passkey row as a finished registration stores it, for tests about listing and removing
 * (it cannot sign in: its public key is random bytes). Returns its id.
 */
export async function insertPasskeyRow(db: Sql, userId: string, name: string): Promise<string> {
  const [row] = await db<
    { id: string }[]
  >`insert into passkeys (user_id, credential_id, public_key, name, added_credentials_version, device_type, backed_up)
    values (${userId}, ${randomBytes(16).toString("base64url")}, ${randomBytes(77).toString("base64url")}, ${name},
      (select credentials_version from users where id = ${userId}), 'singleDevice', false)
    returning id`;
  return row!.id;
}
