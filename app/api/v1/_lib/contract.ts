// The JSON API's contract: request and response bodies as zod schemas (snake_case), the error
// code catalogue, and the table of operations. The route handlers parse with these schemas and
// /api/v1/openapi.json is generated from the same table, so the document cannot drift from
// what the handlers accept.
import { z } from "zod";
import { EmailSchema } from "@/lib/validation/fields";
import { AuthenticationCodeInput, ChangePasswordSchema, RecoveryCodeInput, ResetPasswordSchema } from "@/lib/validation/forms";
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
  "second_factor_required",
  "invalid_second_factor",
  "too_many_attempts",
  "unauthenticated",
  "cross_site_request",
  "invalid_current_password",
  "conflict",
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
export const TokenResponse = z.object({
  access_token: z.string().meta({ description: "The bearer token: a session of kind device, ended by any password change or reset." }),
  token_type: z.literal("Bearer"),
  expires_in: z.number().int().meta({ description: "The idle lifetime in seconds: use moves the expiry forward." }),
  user: z.object({ id: z.string(), email: z.string() }),
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

export type ResponseHeader = "Retry-After" | "Allow" | "Set-Cookie";

export interface ResponseSpec {
  description: string;
  /** A success body. */
  body?: z.ZodType;
  /** Or: the error codes this status carries. */
  errors?: readonly [ErrorCode, ...ErrorCode[]];
  headers?: readonly ResponseHeader[];
}

export interface Operation {
  method: "get" | "post";
  path: string;
  operationId: string;
  summary: string;
  description: string;
  tag: "Password reset" | "Account" | "Device authorization" | "Operations";
  request?: z.ZodType;
  /** The request body may also be application/x-www-form-urlencoded (the OAuth endpoints). */
  form?: boolean;
  /** Authenticated by the session cookie. */
  session?: boolean;
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

export const OPERATIONS = [
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
    path: "/api/v1/auth/change-password",
    operationId: "changePassword",
    summary: "Change the signed-in user's password",
    description:
      "Authenticated by the session cookie. Ends every session of the account and answers with a fresh session cookie for this client. Cross-site requests are refused: an Origin header must be the app's own origin.",
    tag: "Account",
    session: true,
    request: ChangePasswordRequest,
    responses: {
      200: { description: "The password is changed; Set-Cookie carries the new session.", body: MessageResponse, headers: ["Set-Cookie"] },
      ...bodyErrors,
      401: { description: "Not signed in (no session cookie, or an ended session).", errors: ["unauthenticated"] },
      403: { description: "A cross-site request (foreign Origin, or Sec-Fetch-Site: cross-site).", errors: ["cross_site_request"] },
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
