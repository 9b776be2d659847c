// Passkeys for the sign-in tests without the account page: a key pair made here, its private
// half given to Chromium's virtual authenticator (WebAuthn.addCredential) and its public half
// stored as the account's passkey, exactly as a registration would store it. The tests of adding
// a passkey go through /account/passkeys; these are about using one.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { isoCBOR } from "@simplewebauthn/server/helpers";
import type { Sql } from "postgres";
import type { VirtualAuthenticator } from "./passkeys";

/**
 * A discoverable passkey of `user` for relying party `rpId` in `authenticator`; stored as the
 * account's passkey unless `stored` is false (a passkey the server has never seen).
 */
export async function givePasskey(
  db: Sql,
  authenticator: Pick<VirtualAuthenticator, "cdp" | "authenticatorId">,
  user: { id: string },
  options: { rpId?: string; stored?: boolean; name?: string } = {},
): Promise<{ credentialId: string }> {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  const cose = isoCBOR.encode(
    new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, new Uint8Array(Buffer.from(jwk.x!, "base64url"))],
      [-3, new Uint8Array(Buffer.from(jwk.y!, "base64url"))],
    ]),
  );
  const id = randomBytes(16);
  await authenticator.cdp.send("WebAuthn.addCredential", {
    authenticatorId: authenticator.authenticatorId,
    credential: {
      credentialId: id.toString("base64"),
      isResidentCredential: true,
      rpId: options.rpId ?? "localhost",
      privateKey: privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
      // What a registration puts as the user handle: the account's id.
      userHandle: Buffer.from(user.id, "utf8").toString("base64"),
      signCount: 0,
    },
  });
  const credentialId = id.toString("base64url");
  if (options.stored !== false) {
    await db`insert into passkeys (user_id, credential_id, public_key, counter, transports, device_type, backed_up, name, added_credentials_version)
      select id, ${credentialId}, ${Buffer.from(cose).toString("base64url")}, 0, ${db.json(["internal"])}, 'singleDevice', false, ${options.name ?? "Test key"}, credentials_version
      from users where id = ${user.id}`;
  }
  return { credentialId };
}
