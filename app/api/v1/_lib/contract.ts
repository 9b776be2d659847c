// The JSON API's contract: request and response bodies as zod schemas (snake_case), the error
// code catalogue, and the table of operations. The route handlers parse with these schemas and
// /api/v1/openapi.json is generated from the same table, so the document cannot drift from
// what the handlers accept.
import { z } from "zod";
import { EmailSchema } from "@/lib/validation/fields";
import {
  AuthenticationCodeInput,
  ChangePasswordSchema,
  PasswordInput,
  RecoveryCodeInput,
  ResetPasswordSchema,
} from "@/lib/validation/forms";
import { COMMON_PASSWORD_LABEL, NewPasswordSchema, PASSWORD_RULES } from "@/lib/validation/password-policy";

export const MAX_BODY_BYTES = 16 * 1024;

/** Every error code the API answers with; each response below names the ones it can carry. */
export const ERROR_CODES = [
  "invalid_json",
  "validation_error",
  "payload_too_large",
  "unsupported_media_type",
  "method_not_allowed",
  "not_found",
  "rate_limited",
  "invalid_token",
  "expired_token",
  "used_token",
  "invalid_credentials",
  "password_reset_required",
  "invalid_challenge",
  "second_factor_required",
  "invalid_second_factor",
  "too_many_attempts",
  "unauthenticated",
  "cross_site_request",
  "invalid_current_password",
  "conflict",
  "confirmation_required",
  "address_taken",
  "internal_error",
  "service_unavailable",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

// --- Request bodies: the form schemas' own fields, under the API's snake_case names. ---

const policy = [...PASSWORD_RULES.map((rule) => rule.label.toLowerCase()), COMMON_PASSWORD_LABEL.toLowerCase()].join("; ");
const NewPassword = NewPasswordSchema.meta({
  description: `The new password. Policy (checked by the server; each broken rule is its own message in fields.new_password): ${policy}; different from the current password.`,
});
const Token = ResetPasswordSchema.shape.token.meta({
  description: "The token from the reset link: the last path segment of /reset-password/{token}.",
});

export const ForgotPasswordRequest = z.object({
  email: EmailSchema.meta({ description: "The account's email address (trimmed, case-insensitive)." }),
});
export const VerifyResetTokenRequest = z.object({ token: Token });
export const ResetPasswordRequest = z.object({
  token: Token,
  new_password: NewPassword,
  otp: AuthenticationCodeInput.optional().meta({
    description:
      "For an account with two-factor authentication: the 6-digit code from the authenticator app (spaces ignored). Send this or recovery_code; ignored for an account without two-factor authentication.",
  }),
  recovery_code: RecoveryCodeInput.optional().meta({
    description:
      "For an account with two-factor authentication: one unused recovery code (case, spaces and dashes ignored). Used when otp is absent; works once.",
  }),
});
export const ChangePasswordRequest = z.object({
  current_password: ChangePasswordSchema.shape.currentPassword.meta({ description: "The password the account has now." }),
  new_password: NewPassword,
});

export const ChangeEmailRequest = z.object({
  new_email: EmailSchema.meta({ description: "The address to move the account to (trimmed, case-insensitive)." }),
  password: PasswordInput.optional().meta({
    description:
      "\"Confirm it's you\": the account's password. Needed when this session did not sign in or confirm within REAUTH_MINUTES (a bearer token's own sign-in counts).",
  }),
  otp: AuthenticationCodeInput.optional().meta({
    description: "With password, for an account with two-factor authentication: the app's 6-digit code.",
  }),
  recovery_code: RecoveryCodeInput.optional().meta({ description: "With password, instead of otp: one unused recovery code." }),
});
export const RemovePasskeyRequest = z.object({
  password: PasswordInput.optional().meta({
    description:
      "\"Confirm it's you\": the account's password. Needed unless this session signed in or confirmed within REAUTH_MINUTES (a bearer token's own sign-in counts).",
  }),
  otp: AuthenticationCodeInput.optional().meta({
    description: "With password, for an account with two-factor authentication: the app's 6-digit code.",
  }),
  recovery_code: RecoveryCodeInput.optional().meta({ description: "With password, instead of otp: one unused recovery code." }),
});
export const ConfirmEmailChangeRequest = z.object({
  token: z
    .string()
    .min(1)
    .max(256)
    .meta({ description: "The token from the link sent to the new address: the last path segment of /email-change/{token}." }),
  password: PasswordInput.meta({ description: "The account's password: the link alone changes nothing." }),
});

/** RFC 8628 §3.4's grant type: what OAuth client libraries send to the token endpoint. */
export const DEVICE_CODE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";

export const DeviceCodeRequest = z.object({
  client_name: z
    .string()
    .trim()
    .min(1, "Give the tool's name.")
    .max(100, "At most 100 characters.")
    .regex(/^[^\p{C}]*$/u, "No control characters.")
    .meta({ description: "The tool's name, shown to the person who approves it at /device and on their sessions page." }),
});
export const DeviceTokenRequest = z.object({
  grant_type: z
    .string()
    .optional()
    .meta({
      description: `${DEVICE_CODE_GRANT_TYPE} (what OAuth libraries send; may be left out of a JSON body). Any other value: unsupported_grant_type.`,
    }),
  device_code: z
    .string()
    .min(1, "Give the device_code.")
    .max(512, "Not a device code.")
    .meta({ description: "The device_code from /api/v1/auth/device/code." }),
});
const ClientName = z.string().max(1000, "Use at most 1000 characters.").optional().meta({
  description:
    'A name for this client, shown in the account\'s sessions list ("Rekey CLI on build-box"). Control characters are dropped and it is cut at 100 characters.',
});
const DeviceToken = z.string().max(4096, "That is not a device token.").optional().meta({
  description:
    "The device_token an earlier sign-in answered, sent back unchanged. It marks this client as one that signed in to the account before: past the per-address sign-in limit it may still try in a small budget of its own, and its sign-ins send the owner no new-device email. Optional; an unknown or altered value counts for nothing.",
});

export const SignInRequest = z.object({
  email: EmailSchema.meta({ description: "The account's email address (trimmed, case-insensitive)." }),
  password: PasswordInput.meta({ description: "The account's password." }),
  client_name: ClientName,
  device_token: DeviceToken,
});
export const SignInSecondFactorRequest = z
  .object({
    challenge: z
      .string()
      .min(1, "Send the challenge the sign-in answered.")
      .max(200, "That is not a sign-in challenge.")
      .meta({ description: "The challenge the sign-in answered." }),
    otp: AuthenticationCodeInput.optional().meta({
      description: "The 6-digit code from the authenticator app (spaces ignored). Send this or recovery_code.",
    }),
    recovery_code: RecoveryCodeInput.optional().meta({
      description: "One unused recovery code (case, spaces and dashes ignored). Used when otp is absent; works once.",
    }),
    client_name: ClientName,
    device_token: DeviceToken,
  })
  .refine((v) => v.otp !== undefined || v.recovery_code !== undefined, { path: ["otp"], message: "Send otp or recovery_code." });
export const RegisterRequest = z.object({
  email: EmailSchema.meta({ description: "The address to register (trimmed, case-insensitive)." }),
  password: NewPasswordSchema.meta({
    description: `The password. Policy (each broken rule is its own message in fields.password): ${policy}.`,
  }),
});

export const DeleteAccountRequest = z.object({
  email: z
    .string()
    .trim()
    .min(1, "Type the account's email address to confirm.")
    .max(254, "That email address is too long.")
    .meta({ description: "The account's email address, typed to confirm (case-insensitive)." }),
  password: PasswordInput.meta({ description: "The account's password (\"Confirm it's you\")." }),
  otp: AuthenticationCodeInput.optional().meta({
    description: "With two-factor on: the 6-digit code from the authenticator app. Send this or recovery_code.",
  }),
  recovery_code: RecoveryCodeInput.optional().meta({
    description: "With two-factor on: one unused recovery code, used when otp is absent; works once.",
  }),
});

// --- Response bodies. ---

export const MessageResponse = z.object({ message: z.string() });

/** The 202 of forgot-password: the same status and body for every well-formed address. */
export const RESET_REQUEST_ACCEPTED = { message: "If an account exists for that email, a password reset link has been sent." };
export const ValidResetToken = z.object({
  valid: z.literal(true),
  expires_at: z.iso.datetime().meta({ description: "When the link stops working (ISO 8601, UTC)." }),
  email: z.string().meta({ description: "The account's address, masked: j***@example.com." }),
  second_factor_required: z.boolean().meta({
    description:
      "True when the account has two-factor authentication: reset-password will then need otp or recovery_code with the new password.",
  }),
});
export const InvalidResetToken = z.object({
  valid: z.literal(false),
  reason: z.enum(["expired", "used", "invalid"]),
});
export const VerifyResetTokenResponse = z.discriminatedUnion("valid", [ValidResetToken, InvalidResetToken]);
export const HealthOk = z.object({ status: z.literal("ok"), database: z.literal("ok") });
export const HealthUnavailable = z.object({ status: z.literal("error"), database: z.literal("unavailable") });

export const TokenResponse = z.object({
  access_token: z.string().meta({ description: "The bearer token (opaque): send it as Authorization: Bearer <token>. Keep it secret." }),
  token_type: z.literal("Bearer"),
  expires_in: z.number().int().nonnegative().meta({
    description:
      'Seconds until the token ends if it is not used. Using it moves the end forward (checked at most once a day), up to the absolute lifetime; a password change, a reset, "This wasn\'t me" or an administrator ends it at once.',
  }),
  user: z.object({ id: z.string(), email: z.string() }),
  device_token: z
    .string()
    .optional()
    .meta({ description: "Keep it and send it back as device_token at the next sign-in (see SignInRequest)." }),
});
export const SecondFactorRequiredResponse = z.object({
  status: z.literal("second_factor_required"),
  challenge: z.string().meta({ description: "Send it with a code to /api/v1/auth/sign-in/second-factor. Works once." }),
  methods: z.array(z.enum(["totp", "recovery_code", "passkey"])).meta({
    description:
      'The second factors this account has. "passkey" works only in a browser (at /login): an account whose only method is "passkey" cannot finish signing in over this API.',
  }),
  expires_in: z.number().int().nonnegative().meta({ description: "Seconds the challenge stays valid." }),
});
export const SignInResponse = z.union([TokenResponse, SecondFactorRequiredResponse]);
export const ChangePasswordTokenResponse = TokenResponse.extend({ message: z.string() });
export const ChangePasswordResponse = z.union([MessageResponse, ChangePasswordTokenResponse]);
export const DeleteAccountResponse = z.object({
  message: z.string(),
  erased_after: z.iso.datetime().meta({ description: "When the account is erased for good unless the emailed link cancels the deletion." }),
});
export const MeResponse = z.object({
  id: z.string(),
  email: z.string(),
  email_verified: z.boolean(),
  two_factor_enabled: z.boolean(),
  passkeys: z.boolean().meta({ description: "The account has at least one passkey (a second factor, like two-factor)." }),
  created_at: z.iso.datetime(),
});
export const SessionItem = z.object({
  id: z.string().meta({ description: "The session's public id (for DELETE /api/v1/sessions/{id}); never its token." }),
  kind: z
    .enum(["browser", "app", "device"])
    .meta({ description: "How its token is carried: a browser's cookie, an app's or a command-line tool's bearer token." }),
  client_name: z.string().nullable(),
  current: z.boolean().meta({ description: "True for the session this request is authenticated with." }),
  created_at: z.iso.datetime(),
  last_seen_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  second_factor: z.boolean().meta({ description: "True when its sign-in passed a second factor." }),
});
export const SessionsResponse = z.object({ sessions: z.array(SessionItem) });
export const PasskeyItem = z.object({
  id: z.string().meta({ description: "The passkey's id (for DELETE /api/v1/passkeys/{id}); not the credential id." }),
  name: z.string().meta({ description: "The name its owner gave it." }),
  created_at: z.iso.datetime(),
  last_used_at: z.iso.datetime().nullable().meta({ description: "When it last signed in or confirmed; null if never." }),
  device_type: z
    .enum(["singleDevice", "multiDevice"])
    .nullable()
    .meta({ description: "singleDevice: kept on one device; multiDevice: synced (iCloud Keychain, Google Password Manager...)." }),
  backed_up: z.boolean().nullable(),
});
export const PasskeysResponse = z.object({ passkeys: z.array(PasskeyItem) });
const Time = z.iso.datetime();
const MaybeTime = z.iso.datetime().nullable();
/** The data export (GET /api/v1/me/export); docs/data-export.md describes every field. */
export const AccountExportResponse = z.object({
  format: z.literal("rekey.account-export"),
  version: z.literal(1).meta({ description: "Raised when a field changes meaning or goes; new fields may appear in the same version." }),
  exported_at: Time,
  account: z.object({
    id: z.string(),
    email: z.string(),
    name: z.string().nullable(),
    created_at: Time,
    email_verified_at: MaybeTime,
    password_changed_at: MaybeTime,
    password_reset_forced_at: MaybeTime.meta({ description: "When an administrator made a new password necessary; null once it was set." }),
    credentials_version: z
      .number()
      .int()
      .meta({ description: "Rises with every change that ends all sessions (password change, reset, ...)." }),
    deletion_requested_at: MaybeTime.meta({ description: "When the account's deletion was asked for; null unless a deletion is pending." }),
  }),
  two_factor: z.object({
    enabled: z.boolean(),
    enabled_at: MaybeTime,
    recovery_codes_left: z.number().int().meta({ description: "How many recovery codes are unused; never the codes." }),
  }),
  passkeys: z
    .array(
      z.object({
        id: z.string(),
        name: z.string(),
        created_at: Time,
        last_used_at: MaybeTime,
        device_type: z.string().nullable().meta({ description: "singleDevice (bound to one device) or multiDevice (synced)." }),
        backed_up: z.boolean().nullable(),
      }),
    )
    .meta({ description: "The account's passkeys: names and dates, never a credential id or a public key." }),
  pending_email_change: z
    .object({ new_email: z.string(), requested_at: Time, expires_at: Time })
    .nullable()
    .meta({ description: "An email change asked for and not yet confirmed from the new address; null when none is pending." }),
  sessions: z.array(
    z.object({
      id: SessionItem.shape.id,
      kind: SessionItem.shape.kind,
      client_name: z.string().nullable(),
      current: z.boolean().meta({ description: "True for the session that asked for this export." }),
      created_at: Time,
      last_seen_at: Time,
      expires_at: Time,
      ip: z.string().nullable(),
      user_agent: z.string().nullable(),
      second_factor_at: MaybeTime.meta({ description: "When the session last passed a second factor; null for password only." }),
    }),
  ),
  audit_events: z.array(
    z.object({
      event: z.string(),
      at: Time,
      ip: z.string().nullable(),
      user_agent: z.string().nullable(),
      details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    }),
  ),
});
export const REGISTRATION_ACCEPTED = { message: "Check your email to finish creating your account." };

export const DeviceCodeResponse = z.object({
  device_code: z.string().meta({ description: "Secret to the tool: poll the token endpoint with it. 256 random bits." }),
  user_code: z
    .string()
    .meta({ description: "What the person types at verification_uri: 8 letters shown as XXXX-XXXX (case, dashes and spaces ignored)." }),
  verification_uri: z.string().meta({ description: "The page where the person enters user_code: APP_URL/device." }),
  verification_uri_complete: z
    .string()
    .meta({ description: "verification_uri with the code filled in; opening it approves nothing by itself." }),
  expires_in: z.number().int().meta({ description: "Seconds until both codes expire." }),
  interval: z.number().int().meta({ description: "The least seconds between polls." }),
});
/** The OAuth error codes of the device flow's endpoints (RFC 6749 §5.2, RFC 8628 §3.5). */
export const OAUTH_ERROR_CODES = [
  "invalid_request",
  "unsupported_grant_type",
  "invalid_grant",
  "authorization_pending",
  "slow_down",
  "access_denied",
  "expired_token",
] as const;
export type OAuthErrorCode = (typeof OAUTH_ERROR_CODES)[number];
/** The device flow's error shape (RFC 6749 §5.2), instead of the API's own. */
export const OAuthErrorResponse = z.object({
  error: z.enum(OAUTH_ERROR_CODES),
  error_description: z.string().meta({ description: "A sentence for a person." }),
});

/** The one error shape. */
export const ErrorResponse = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string().meta({ description: "A sentence for a person." }),
    fields: z
      .record(z.string(), z.array(z.string()))
      .optional()
      .meta({ description: "Messages per request field (snake_case), present only when fields are at fault." }),
  }),
});

/** Narrows ErrorResponse's `code` to the codes one response can carry. */
export function errorCodes(codes: readonly [ErrorCode, ...ErrorCode[]]) {
  return z.object({ error: z.object({ code: z.enum(codes) }) });
}

// --- Operations. ---

export type ResponseHeader = "Retry-After" | "Allow" | "Set-Cookie" | "WWW-Authenticate" | "Content-Disposition";

export interface ResponseSpec {
  description: string;
  /** A success body. */
  body?: z.ZodType;
  /** Or: the error codes this status carries. */
  errors?: readonly [ErrorCode, ...ErrorCode[]];
  headers?: readonly ResponseHeader[];
  /** No body at all (204). */
  empty?: boolean;
}

export interface Operation {
  method: "get" | "post" | "delete";
  path: string;
  operationId: string;
  summary: string;
  description: string;
  tag: "Password reset" | "Sign-in" | "Account" | "Device authorization" | "Operations";
  request?: z.ZodType;
  /** The request body may also be application/x-www-form-urlencoded (the OAuth endpoints). */
  form?: boolean;
  /** Authenticated by the session cookie. */
  session?: boolean;
  /** Authenticated by a bearer token (RFC 6750). */
  bearer?: boolean;
  /** Path parameters: name -> description. */
  parameters?: Record<string, string>;
  responses: Record<number, ResponseSpec>;
}

// What every JSON-body endpoint can answer before its own logic runs.
const bodyErrors: Record<number, ResponseSpec> = {
  400: {
    description: "Malformed JSON (invalid_json), or a field missing or of the wrong type (validation_error, with fields).",
    errors: ["invalid_json", "validation_error"],
  },
  413: { description: `The body is over ${MAX_BODY_BYTES} bytes.`, errors: ["payload_too_large"] },
  415: { description: "The body is not sent as application/json.", errors: ["unsupported_media_type"] },
  422: { description: "A field is present and a string but not acceptable (validation_error, with fields).", errors: ["validation_error"] },
};

/** A change that asks "Confirm it's you" in its body (password, and a code with two-factor on), for a cookie or a bearer caller. */
const confirmedChangeErrors: Record<number, ResponseSpec> = {
  400: {
    description:
      "Malformed JSON or fields (invalid_json, validation_error), a password without the code an account with two-factor on needs (second_factor_required), or a wrong code (invalid_second_factor).",
    errors: ["invalid_json", "validation_error", "second_factor_required", "invalid_second_factor"],
  },
  401: {
    description:
      "Not signed in (unauthenticated), or a malformed, unknown, expired or ended bearer token (invalid_token). WWW-Authenticate says Bearer.",
    errors: ["unauthenticated", "invalid_token"],
    headers: ["WWW-Authenticate"],
  },
  403: {
    description: 'This session needs "Confirm it\'s you" and no password came (confirmation_required), or a cross-site cookie request.',
    errors: ["confirmation_required", "cross_site_request"],
  },
};
const always: Record<number, ResponseSpec> = {
  405: { description: "Any other method on this path (Allow lists the methods).", errors: ["method_not_allowed"], headers: ["Allow"] },
  500: { description: "An unexpected failure on the server (no details are given).", errors: ["internal_error"] },
};
// What every endpoint that needs the database answers while it is down.
const databaseDown: Record<number, ResponseSpec> = {
  503: {
    description: "The database is unavailable for a moment; nothing was done. Retry-After says when to try again.",
    errors: ["service_unavailable"],
    headers: ["Retry-After"],
  },
};

// What every endpoint authenticated by a bearer token answers without a live one.
const bearerRefused: Record<number, ResponseSpec> = {
  401: {
    description:
      'No bearer token (WWW-Authenticate: Bearer), or a malformed, unknown, expired or ended one (invalid_token, with WWW-Authenticate: Bearer error="invalid_token"). The Authorization header wins over a session cookie sent with it; a cookie alone does not authenticate here.',
    errors: ["invalid_token"],
    headers: ["WWW-Authenticate"],
  },
};
const signInLimited: Record<number, ResponseSpec> = {
  429: {
    description:
      "Too many failed sign-ins for this address (from every IP), from this IP, or for this address from this IP, or too many wrong codes for the account: the browser's limits. Retry-After says when to try again. A client that sends the device_token of an earlier sign-in keeps a small budget of its own past the per-address limit.",
    errors: ["rate_limited"],
    headers: ["Retry-After"],
  },
};

export const OPERATIONS = [
  {
    method: "post",
    path: "/api/v1/auth/sign-in",
    operationId: "signIn",
    summary: "Sign in an app or tool with email and password",
    description:
      "Answers a bearer token: a session of the account like a browser's, listed on the sessions page with the client's name, ended by every rule that ends sessions (a password change, a reset, \"This wasn't me\", an administrator, ending all sessions). A wrong password, an unknown address and an unconfirmed account get the same 401 invalid_credentials after the same password-hashing work. For an account with two-factor authentication the answer is 200 with status second_factor_required and a challenge (no token yet): send it with a code to /api/v1/auth/sign-in/second-factor within expires_in seconds. The owner is emailed about a sign-in from a client without a device_token for the account (at most once a day per client IP).",
    tag: "Sign-in",
    request: SignInRequest,
    responses: {
      200: {
        description: "Signed in (the token answer), or the second step is needed (status second_factor_required).",
        body: SignInResponse,
      },
      ...bodyErrors,
      401: {
        description:
          "A wrong password, an unknown address or an unconfirmed account (invalid_credentials, one answer for all three), or a password an administrator retired (password_reset_required: a link to choose a new one was emailed).",
        errors: ["invalid_credentials", "password_reset_required"],
      },
      ...signInLimited,
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "post",
    path: "/api/v1/auth/sign-in/second-factor",
    operationId: "signInSecondFactor",
    summary: "Complete a sign-in with an authenticator or recovery code",
    description:
      "The second step of a sign-in for an account with two-factor authentication. The challenge works once, for 5 minutes, and only while the password it was earned with is current. Codes spend the account's one code budget (5 wrong codes per 15 minutes, shared with the browser and reset), counted before the code is checked. A wrong code leaves the challenge usable.",
    tag: "Sign-in",
    request: SignInSecondFactorRequest,
    responses: {
      200: { description: "Signed in: the token answer.", body: TokenResponse },
      ...bodyErrors,
      401: {
        description:
          "A wrong or used code (invalid_second_factor; the challenge stays usable), or a challenge that is unknown, used, expired or whose password changed since (invalid_challenge: sign in again).",
        errors: ["invalid_second_factor", "invalid_challenge"],
      },
      ...signInLimited,
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "post",
    path: "/api/v1/auth/sign-out",
    operationId: "signOut",
    summary: "End this bearer token's session",
    description: "The token stops working at once. No request body.",
    tag: "Sign-in",
    bearer: true,
    responses: {
      204: { description: "Signed out.", empty: true },
      ...bearerRefused,
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "post",
    path: "/api/v1/auth/register",
    operationId: "register",
    summary: "Create an account",
    description:
      "The same answer whether or not the address already has an account: the account is created (or its owner told someone tried) after the response, and becomes usable once the emailed link is opened and confirmed with this password, as on the web page. Limited per client IP.",
    tag: "Sign-in",
    request: RegisterRequest,
    responses: {
      202: { description: "Accepted. Identical for every well-formed address.", body: MessageResponse },
      ...bodyErrors,
      422: {
        description: "The password breaks the policy (messages in fields.password), or the address is not valid.",
        errors: ["validation_error"],
      },
      429: {
        description: "Too many registrations from this IP; Retry-After says when to try again.",
        errors: ["rate_limited"],
        headers: ["Retry-After"],
      },
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "get",
    path: "/api/v1/me",
    operationId: "me",
    summary: "The signed-in account",
    description: "Who the bearer token belongs to.",
    tag: "Account",
    bearer: true,
    responses: {
      200: { description: "The account.", body: MeResponse },
      ...bearerRefused,
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "delete",
    path: "/api/v1/me",
    operationId: "deleteAccount",
    summary: "Delete the signed-in account",
    description:
      "Needs the password (and, with two-factor on, a code) and the account's address typed. At once every session of the account ends (this one too), every emailed link stops working, and sign-in and password reset answer as for an unknown address; the owner is emailed a link that cancels the deletion for ACCOUNT_DELETION_GRACE_DAYS, after which the account is erased. Authenticated by a bearer token or by the session cookie (the bearer token wins); cookie requests from another site are refused.",
    tag: "Account",
    session: true,
    bearer: true,
    request: DeleteAccountRequest,
    responses: {
      200: {
        description: "Deleted (restorable with the emailed link until erased_after). A cookie request's cookie is cleared.",
        body: DeleteAccountResponse,
      },
      ...bodyErrors,
      401: {
        description:
          "Not signed in: no credentials or an ended session cookie (unauthenticated), or a malformed, unknown, expired or ended bearer token (invalid_token).",
        errors: ["unauthenticated", "invalid_token"],
        headers: ["WWW-Authenticate"],
      },
      403: { description: "A cross-site cookie request (foreign Origin, or Sec-Fetch-Site: cross-site).", errors: ["cross_site_request"] },
      422: {
        description:
          "A wrong password (invalid_current_password, in fields.password), a code missing (second_factor_required) or wrong (invalid_second_factor), or an address that is not the account's (validation_error, in fields.email).",
        errors: ["validation_error", "invalid_current_password", "second_factor_required", "invalid_second_factor"],
      },
      429: {
        description: "Too many wrong passwords or codes; Retry-After says when to try again.",
        errors: ["rate_limited"],
        headers: ["Retry-After"],
      },
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "get",
    path: "/api/v1/me/export",
    operationId: "exportAccount",
    summary: "Download what Rekey holds about the account",
    description:
      'The data export (GDPR articles 15 and 20): the account, its sessions, the audit events about it, two-factor status (never a secret, a recovery code or a token hash) and a pending email change, as a JSON file (Content-Disposition: attachment). Authenticated by a bearer token or by the session cookie (the bearer token wins). Like every change of the account it needs "Confirm it\'s you" within REAUTH_MINUTES: a cookie session confirms at /account/export; a bearer token counts its own sign-in, so a token from a sign-in (with its second factor, when the account has one) within the last REAUTH_MINUTES works, and an older one gets 403 confirmation_required: sign in again. A GET, so that it changes nothing but the audit log (account.exported).',
    tag: "Account",
    session: true,
    bearer: true,
    responses: {
      200: { description: "The export, as a file to save.", body: AccountExportResponse, headers: ["Content-Disposition"] },
      401: {
        description:
          "Not signed in: no credentials or an ended session cookie (unauthenticated), or a malformed, unknown, expired or ended bearer token (invalid_token). WWW-Authenticate says Bearer.",
        errors: ["unauthenticated", "invalid_token"],
        headers: ["WWW-Authenticate"],
      },
      403: {
        description:
          "No recent confirmation (confirmation_required): a cookie session has not confirmed it's you at /account/export within REAUTH_MINUTES, or a bearer token's sign-in is older than that. Or a cross-site cookie request (cross_site_request).",
        errors: ["confirmation_required", "cross_site_request"],
      },
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "get",
    path: "/api/v1/sessions",
    operationId: "listSessions",
    summary: "The account's live sessions",
    description: "The same list as the sessions page: browsers, apps and command-line tools, most recently active first.",
    tag: "Account",
    bearer: true,
    responses: {
      200: { description: "The live sessions.", body: SessionsResponse },
      ...bearerRefused,
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "delete",
    path: "/api/v1/sessions/{id}",
    operationId: "endSession",
    summary: "End one of the account's sessions",
    description: "Ends a browser's, an app's or a tool's session of this account at once (this one too, if its id is given).",
    tag: "Account",
    bearer: true,
    parameters: { id: "The session's id, from GET /api/v1/sessions." },
    responses: {
      204: { description: "The session is ended.", empty: true },
      ...bearerRefused,
      404: { description: "No live session of this account has that id.", errors: ["not_found"] },
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "get",
    path: "/api/v1/passkeys",
    operationId: "listPasskeys",
    summary: "The account's passkeys",
    description:
      "The same list as /account/passkeys, oldest first: names and dates, never a credential id or a public key. Authenticated by a bearer token or by the session cookie (the bearer token wins). Adding a passkey needs the browser (WebAuthn), so it has no API.",
    tag: "Account",
    session: true,
    bearer: true,
    responses: {
      200: { description: "The account's passkeys.", body: PasskeysResponse },
      401: {
        description:
          "Not signed in (unauthenticated), or a malformed, unknown, expired or ended bearer token (invalid_token). WWW-Authenticate says Bearer.",
        errors: ["unauthenticated", "invalid_token"],
        headers: ["WWW-Authenticate"],
      },
      403: { description: "A cross-site cookie request.", errors: ["cross_site_request"] },
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "delete",
    path: "/api/v1/passkeys/{id}",
    operationId: "removePasskey",
    summary: "Remove one of the account's passkeys",
    description:
      'Needs "Confirm it\'s you": a session that did not sign in or confirm within REAUTH_MINUTES sends password (and otp or recovery_code with two-factor on) as a JSON body; otherwise no body is needed. The owner is emailed about the removal. Authenticated by a bearer token or by the session cookie (the bearer token wins); cookie requests from another site are refused.',
    tag: "Account",
    session: true,
    bearer: true,
    parameters: { id: "The passkey's id, from GET /api/v1/passkeys." },
    request: RemovePasskeyRequest,
    responses: {
      204: { description: "The passkey is removed.", empty: true },
      ...bodyErrors,
      ...confirmedChangeErrors,
      404: { description: "This account has no passkey with that id.", errors: ["not_found"] },
      422: { description: "A wrong password (invalid_current_password).", errors: ["validation_error", "invalid_current_password"] },
      429: {
        description: "Too many wrong passwords or codes; Retry-After says when to try again.",
        errors: ["rate_limited"],
        headers: ["Retry-After"],
      },
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "post",
    path: "/api/v1/auth/forgot-password",
    operationId: "forgotPassword",
    summary: "Ask for a password reset link",
    description:
      "Every well-formed address gets the same answer, known or not; the email (if the account exists and the per-address limit allows) is sent after the response. Limited per client IP.",
    tag: "Password reset",
    request: ForgotPasswordRequest,
    responses: {
      202: { description: "Accepted. Identical for every well-formed address.", body: MessageResponse },
      ...bodyErrors,
      429: {
        description: "Too many requests from this IP; Retry-After says when to try again.",
        errors: ["rate_limited"],
        headers: ["Retry-After"],
      },
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "post",
    path: "/api/v1/auth/verify-reset-token",
    operationId: "verifyResetToken",
    summary: "Check a reset token without using it",
    description: "Says whether a reset link still works. Never consumes the token, however often it is called.",
    tag: "Password reset",
    request: VerifyResetTokenRequest,
    responses: {
      200: { description: "What the token is: valid (with its expiry and the masked address) or why not.", body: VerifyResetTokenResponse },
      ...bodyErrors,
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "post",
    path: "/api/v1/auth/reset-password",
    operationId: "resetPassword",
    summary: "Set a new password with a reset token",
    description:
      "Consumes the token (once: of two concurrent calls exactly one succeeds), sets the password, ends every session of the account and spends its other reset links. The link proves the address, so an account whose address was not confirmed yet is confirmed, with this password replacing the one chosen at registration. A rejected password leaves the token valid. For an account with two-factor authentication (verify-reset-token says second_factor_required) the token alone is not enough: send otp or recovery_code too. Without one the answer is 400 second_factor_required and nothing changes; a wrong code answers 400 invalid_second_factor and leaves the token valid. Codes are limited per account (5 wrong codes per 15 minutes, shared with sign-in), then 429. The code is checked first: nothing about the current or the new password is compared or answered until it passes. Each attempt with a code counts against the link: after 5 the link is spent (400 too_many_attempts, then used_token). The token is consumed only when both the code and the new password are accepted.",
    tag: "Password reset",
    request: ResetPasswordRequest,
    responses: {
      200: { description: "The password is changed; sign in with it.", body: MessageResponse },
      ...bodyErrors,
      400: {
        description:
          "Malformed JSON, a field missing or of the wrong type, a token that does not work (invalid_token, expired_token, used_token), no otp or recovery_code for an account with two-factor authentication (second_factor_required), a wrong or already used code (invalid_second_factor), or a link of such an account whose attempts are used up (too_many_attempts: the link is spent). The token stays valid after second_factor_required and invalid_second_factor, within the link's attempts.",
        errors: [
          "invalid_json",
          "validation_error",
          "invalid_token",
          "expired_token",
          "used_token",
          "invalid_credentials",
          "password_reset_required",
          "invalid_challenge",
          "second_factor_required",
          "invalid_second_factor",
          "too_many_attempts",
        ],
      },
      422: {
        description:
          "The new password breaks the policy (validation_error, messages in fields.new_password), or otp is not 6 digits (fields.otp).",
        errors: ["validation_error"],
      },
      429: {
        description: "Too many wrong second-factor codes for this account; Retry-After says when to try again. The token stays valid.",
        errors: ["rate_limited"],
        headers: ["Retry-After"],
      },
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "post",
    path: "/api/v1/me/email",
    operationId: "requestEmailChange",
    summary: "Ask to change the signed-in account's email address",
    description:
      'Authenticated by a bearer token or by the session cookie (the bearer token wins). Needs "Confirm it\'s you": a session that did not sign in or confirm within REAUTH_MINUTES sends password (and otp or recovery_code with two-factor on). Nothing changes yet: a link valid for 1 hour goes to new_email, and only that link with the account\'s password (POST /api/v1/email-change/confirm) changes the address. A pending change is cancelled by a newer request, a password reset or "This wasn\'t me". An address that belongs to another account gets the same 202 (no link is sent; its owner is told someone tried). Limited to 5 requests an hour per account.',
    tag: "Account",
    session: true,
    bearer: true,
    request: ChangeEmailRequest,
    responses: {
      202: { description: "Accepted: the same answer for every address.", body: MessageResponse },
      ...bodyErrors,
      ...confirmedChangeErrors,
      422: {
        description:
          "new_email is not an address or is the current one (validation_error, in fields.new_email), or a wrong password (invalid_current_password).",
        errors: ["validation_error", "invalid_current_password"],
      },
      429: {
        description: "Too many requests or wrong passwords; Retry-After says when to try again.",
        errors: ["rate_limited"],
        headers: ["Retry-After"],
      },
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "post",
    path: "/api/v1/email-change/confirm",
    operationId: "confirmEmailChange",
    summary: "Confirm a new email address with its link and the password",
    description:
      "Consumes the link's token (once) and, in one transaction, changes the address, raises the credentials version and ends every session of the account but the bearer session making this call (if any), spends outstanding reset and verification links, and emails the old address a notice with an undo link valid for 7 days. A wrong password leaves the link valid; attempts share the sign-in limits of the account's address.",
    tag: "Account",
    request: ConfirmEmailChangeRequest,
    responses: {
      200: { description: "The address is changed.", body: MessageResponse },
      ...bodyErrors,
      400: {
        description:
          "Malformed JSON or fields, or a token that does not work (invalid_token, expired_token, used_token: also after a cancellation).",
        errors: ["invalid_json", "validation_error", "invalid_token", "expired_token", "used_token"],
      },
      409: { description: "The new address now belongs to another account; nothing changed.", errors: ["address_taken"] },
      422: {
        description: "A wrong password (invalid_current_password); the link stays valid.",
        errors: ["validation_error", "invalid_current_password"],
      },
      429: { description: "Too many attempts; Retry-After says when to try again.", errors: ["rate_limited"], headers: ["Retry-After"] },
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "post",
    path: "/api/v1/auth/change-password",
    operationId: "changePassword",
    summary: "Change the signed-in user's password",
    description:
      "Authenticated by a bearer token or by the session cookie (when both come, the bearer token wins). Ends every session of the account and answers with a fresh session for this client: a fresh bearer token in the body for a bearer request, a fresh session cookie for a cookie request. Cookie requests from another site are refused (an Origin header must be the app's own origin); bearer requests need no such check, since no browser attaches that header on its own.",
    tag: "Account",
    session: true,
    bearer: true,
    request: ChangePasswordRequest,
    responses: {
      200: {
        description:
          "The password is changed: for a bearer request the body carries the new token (the old one ends), for a cookie request Set-Cookie carries the new session.",
        body: ChangePasswordResponse,
      },
      ...bodyErrors,
      401: {
        description:
          "Not signed in: no credentials or an ended session cookie (unauthenticated), or a malformed, unknown, expired or ended bearer token (invalid_token). WWW-Authenticate says Bearer.",
        errors: ["unauthenticated", "invalid_token"],
        headers: ["WWW-Authenticate"],
      },
      403: { description: "A cross-site cookie request (foreign Origin, or Sec-Fetch-Site: cross-site).", errors: ["cross_site_request"] },
      409: { description: "The password was changed by another request meanwhile.", errors: ["conflict"] },
      422: {
        description:
          "A wrong current password (invalid_current_password, in fields.current_password) or a new password that breaks the policy (validation_error).",
        errors: ["validation_error", "invalid_current_password"],
      },
      429: {
        description: "Too many wrong current passwords; Retry-After says when to try again.",
        errors: ["rate_limited"],
        headers: ["Retry-After"],
      },
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "post",
    path: "/api/v1/auth/device/code",
    operationId: "requestDeviceCode",
    summary: "Start signing in a command-line tool (RFC 8628)",
    description:
      "Answers a device_code for the tool and a user_code for the person, who enters it at verification_uri while signed in and approves or denies. Then poll /api/v1/auth/device/token. Errors use OAuth's shape, {error, error_description}. Limited per client IP (20 an hour).",
    tag: "Device authorization",
    request: DeviceCodeRequest,
    form: true,
    responses: {
      200: { description: "A new pair of codes, valid for expires_in seconds.", body: DeviceCodeResponse },
      400: {
        description: "A body that is not a form or a JSON object, or client_name missing or refused (invalid_request).",
        body: OAuthErrorResponse,
      },
      413: { description: `The body is over ${MAX_BODY_BYTES} bytes (invalid_request).`, body: OAuthErrorResponse },
      415: { description: "Neither application/x-www-form-urlencoded nor application/json (invalid_request).", body: OAuthErrorResponse },
      429: {
        description: "Too many code requests from this IP; Retry-After says when to try again (slow_down).",
        body: OAuthErrorResponse,
        headers: ["Retry-After"],
      },
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "post",
    path: "/api/v1/auth/device/token",
    operationId: "pollDeviceToken",
    summary: "Poll for the tool's token (RFC 8628)",
    description: `Send grant_type=${DEVICE_CODE_GRANT_TYPE} and device_code, form-encoded or as JSON, no sooner than interval seconds apart. While the person has not decided: 400 authorization_pending, or slow_down when polled sooner than the interval (which then grows by 5 seconds for every later poll). Denied: access_denied. Past expires_in, or approved before a password change or reset: expired_token. Approved: 200 with the token, once; every later poll with that device code answers invalid_grant.`,
    tag: "Device authorization",
    request: DeviceTokenRequest,
    form: true,
    responses: {
      200: { description: "The person approved: a bearer token, answered once.", body: TokenResponse },
      400: {
        description:
          "authorization_pending, slow_down, access_denied, expired_token, invalid_grant (unknown or already used device code), unsupported_grant_type, or invalid_request (a malformed body or a missing device_code).",
        body: OAuthErrorResponse,
      },
      413: { description: `The body is over ${MAX_BODY_BYTES} bytes (invalid_request).`, body: OAuthErrorResponse },
      415: { description: "Neither application/x-www-form-urlencoded nor application/json (invalid_request).", body: OAuthErrorResponse },
      ...always,
      ...databaseDown,
    },
  },
  {
    method: "get",
    path: "/api/v1/health",
    operationId: "health",
    summary: "Liveness and database check",
    description: "Runs `select 1` against the database with a short timeout.",
    tag: "Operations",
    responses: {
      200: { description: "The app and its database answer.", body: HealthOk },
      503: { description: "The database does not answer.", body: HealthUnavailable },
      ...always,
    },
  },
  {
    method: "get",
    path: "/api/v1/openapi.json",
    operationId: "openApiDocument",
    summary: "This document",
    description: "The OpenAPI 3.1 description of the API, generated from the schemas the handlers parse with.",
    tag: "Operations",
    responses: {
      200: { description: "An OpenAPI 3.1 document.", body: z.object({ openapi: z.string() }).catchall(z.unknown()) },
      ...always,
    },
  },
] as const satisfies readonly Operation[];
