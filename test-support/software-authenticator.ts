// A WebAuthn authenticator in software for integration tests: an ES256 key pair from
// node:crypto, "none" attestation in CBOR, and the clientDataJSON a browser would write.
// Every knob a test needs to misbehave (origin, RP ID, flags, counter) is a parameter.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { isoCBOR } from "@simplewebauthn/server/helpers";

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

const b64url = (bytes: Uint8Array | Buffer | string) => Buffer.from(bytes).toString("base64url");
const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest();

export interface CeremonyOptions {
  /** Default: the origin of APP_URL in vitest ("http://rekey.test"). */
  origin?: string;
  /** Default: the host of `origin`. */
  rpId?: string;
  /** User verification performed (the UV flag). Default true. */
  userVerified?: boolean;
  /** Default "webauthn.create" or "webauthn.get". */
  type?: string;
}

export class SoftwareAuthenticator {
  readonly credentialId = randomBytes(16);
  private readonly privateKey: KeyObject;
  private readonly publicJwk: { x: string; y: string };
  /** The signature counter the next assertion carries; 0 stays 0 (an authenticator that keeps none). */
  counter: number;
  /** Backed up (a synced passkey): sets the BE and BS flags. */
  readonly synced: boolean;
  /** The user handle of the last registration (what a discoverable assertion returns). */
  userHandle: string | undefined;

  constructor(options: { counter?: number; synced?: boolean } = {}) {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: "jwk" });
    this.publicJwk = { x: jwk.x!, y: jwk.y! };
    this.counter = options.counter ?? 0;
    this.synced = options.synced ?? false;
  }

  get id(): string {
    return b64url(this.credentialId);
  }

  /** What navigator.credentials.create() would return for `options` (PublicKeyCredentialCreationOptionsJSON). */
  register(
    options: { challenge: string; rp: { id?: string }; user: { id: string } },
    ceremony: CeremonyOptions = {},
  ): RegistrationResponseJSON {
    this.userHandle = options.user.id;
    const { clientDataJSON, rpId } = this.clientData(options.challenge, ceremony, "webauthn.create", options.rp.id);
    const cose = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, new Uint8Array(Buffer.from(this.publicJwk.x, "base64url"))],
      [-3, new Uint8Array(Buffer.from(this.publicJwk.y, "base64url"))],
    ]);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length);
    const attested = Buffer.concat([Buffer.alloc(16), idLength, this.credentialId, Buffer.from(isoCBOR.encode(cose))]);
    const authData = Buffer.concat([this.authDataHead(rpId, ceremony, FLAG_AT), attested]);
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Uint8Array | Map<string, string>>([
        ["fmt", "none"],
        ["attStmt", new Map<string, string>()],
        ["authData", new Uint8Array(authData)],
      ]),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: { clientDataJSON: b64url(clientDataJSON), attestationObject: b64url(attestationObject), transports: ["internal"] },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  /** What navigator.credentials.get() would return for `options` (PublicKeyCredentialRequestOptionsJSON). */
  assert(options: { challenge: string; rpId?: string }, ceremony: CeremonyOptions = {}): AuthenticationResponseJSON {
    const { clientDataJSON, rpId } = this.clientData(options.challenge, ceremony, "webauthn.get", options.rpId);
    const authData = this.authDataHead(rpId, ceremony, 0);
    const signature = sign("sha256", Buffer.concat([authData, sha256(clientDataJSON)]), this.privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(this.userHandle ? { userHandle: this.userHandle } : {}),
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  private clientData(challenge: string, ceremony: CeremonyOptions, type: string, optionsRpId: string | undefined) {
    const origin = ceremony.origin ?? "http://rekey.test";
    const rpId = ceremony.rpId ?? optionsRpId ?? new URL(origin).hostname;
    const clientDataJSON = Buffer.from(JSON.stringify({ type: ceremony.type ?? type, challenge, origin, crossOrigin: false }));
    return { clientDataJSON, rpId };
  }

  private authDataHead(rpId: string, ceremony: CeremonyOptions, extraFlags: number): Buffer {
    let flags = FLAG_UP | extraFlags;
    if (ceremony.userVerified ?? true) flags |= FLAG_UV;
    if (this.synced) flags |= FLAG_BE | FLAG_BS;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.counter);
    if (this.counter > 0) this.counter += 1;
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), counter]);
  }
}
