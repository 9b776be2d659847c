import { z } from "zod";
import * as contract from "./contract";
import { OPERATIONS, type ErrorCode, type Operation, type ResponseSpec } from "./contract";

type JsonObject = Record<string, unknown>;

// Named components. Requests are described as clients send them (zod's input side: unknown
// fields allowed), responses as the server writes them (output side: exactly these fields).
const REQUEST_SCHEMAS = {
  ForgotPasswordRequest: contract.ForgotPasswordRequest,
  VerifyResetTokenRequest: contract.VerifyResetTokenRequest,
  ResetPasswordRequest: contract.ResetPasswordRequest,
  ChangePasswordRequest: contract.ChangePasswordRequest,
  ChangeEmailRequest: contract.ChangeEmailRequest,
  RemovePasskeyRequest: contract.RemovePasskeyRequest,
  ConfirmEmailChangeRequest: contract.ConfirmEmailChangeRequest,
  DeleteAccountRequest: contract.DeleteAccountRequest,
  DeviceCodeRequest: contract.DeviceCodeRequest,
  DeviceTokenRequest: contract.DeviceTokenRequest,
  SignInRequest: contract.SignInRequest,
  SignInSecondFactorRequest: contract.SignInSecondFactorRequest,
  RegisterRequest: contract.RegisterRequest,
};
const RESPONSE_SCHEMAS = {
  MessageResponse: contract.MessageResponse,
  ValidResetToken: contract.ValidResetToken,
  InvalidResetToken: contract.InvalidResetToken,
  VerifyResetTokenResponse: contract.VerifyResetTokenResponse,
  HealthOk: contract.HealthOk,
  HealthUnavailable: contract.HealthUnavailable,
  TokenResponse: contract.TokenResponse,
  SecondFactorRequiredResponse: contract.SecondFactorRequiredResponse,
  SignInResponse: contract.SignInResponse,
  ChangePasswordResponse: contract.ChangePasswordResponse,
  DeleteAccountResponse: contract.DeleteAccountResponse,
  MeResponse: contract.MeResponse,
  SessionsResponse: contract.SessionsResponse,
  PasskeysResponse: contract.PasskeysResponse,
  AccountExportResponse: contract.AccountExportResponse,
  Error: contract.ErrorResponse,
  DeviceCodeResponse: contract.DeviceCodeResponse,
  OAuthError: contract.OAuthErrorResponse,
};

const HEADERS = {
  "Retry-After": { description: "Seconds to wait before trying again.", schema: { type: "integer", minimum: 1 } },
  Allow: { description: "The methods this path answers.", schema: { type: "string" } },
  "Set-Cookie": { description: "The new session cookie (HttpOnly, SameSite=Lax).", schema: { type: "string" } },
  "Content-Disposition": {
    description: 'attachment; filename="rekey-export-YYYY-MM-DD.json": browsers save the body as a file.',
    schema: { type: "string" },
  },
  "WWW-Authenticate": {
    description: 'Bearer (RFC 6750): `Bearer` when no token came, `Bearer error="invalid_token"` for a token that does not work.',
    schema: { type: "string" },
  },
} as const;

const ref = (id: string) => `#/components/schemas/${id}`;

function componentSchemas(schemas: Record<string, z.ZodType>, io: "input" | "output"): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const { schemas: out } = z.toJSONSchema(registry, { io, uri: ref, target: "draft-2020-12" }) as { schemas: Record<string, JsonObject> };
  return Object.fromEntries(Object.entries(out).map(([id, schema]) => [id, embedded(schema)]));
}

/** `$id` and `$schema` belong to standalone documents, not to schemas inside this one. */
function embedded(schema: JsonObject): JsonObject {
  const copy = { ...schema };
  delete copy.$id;
  delete copy.$schema;
  return copy;
}

function bodySchema(schema: z.ZodType): JsonObject {
  const named = Object.entries(RESPONSE_SCHEMAS).find(([, s]) => s === schema)?.[0];
  if (named) return { $ref: ref(named) };
  return embedded(z.toJSONSchema(schema, { io: "output", target: "draft-2020-12" }) as JsonObject);
}

// The Error component with `code` narrowed (input side: no additionalProperties of its own).
function errorSchema(codes: readonly [ErrorCode, ...ErrorCode[]]): JsonObject {
  return {
    allOf: [
      { $ref: ref("Error") },
      embedded(z.toJSONSchema(contract.errorCodes(codes), { io: "input", target: "draft-2020-12" }) as JsonObject),
    ],
  };
}

function requestRef(schema: z.ZodType): string {
  const named = Object.entries(REQUEST_SCHEMAS).find(([, s]) => s === schema)?.[0];
  if (!named) throw new Error("every request schema is a named component");
  return ref(named);
}

function requestContent(schema: z.ZodType, form: boolean): JsonObject {
  const body = { schema: { $ref: requestRef(schema) } };
  return form ? { "application/json": body, "application/x-www-form-urlencoded": body } : { "application/json": body };
}

function response(spec: ResponseSpec): JsonObject {
  if (spec.empty) return { description: spec.description };
  const schema = spec.body ? bodySchema(spec.body) : errorSchema(spec.errors ?? ["internal_error"]);
  const description = spec.errors ? `${spec.description} Codes: ${spec.errors.join(", ")}.` : spec.description;
  return {
    description,
    ...(spec.headers ? { headers: Object.fromEntries(spec.headers.map((h) => [h, HEADERS[h]])) } : {}),
    content: { "application/json": { schema } },
  };
}

function operation(op: Operation): JsonObject {
  return {
    operationId: op.operationId,
    summary: op.summary,
    description: op.description,
    tags: [op.tag],
    ...(op.session || op.bearer
      ? { security: [...(op.bearer ? [{ bearerAuth: [] }] : []), ...(op.session ? [{ sessionCookie: [] }] : [])] }
      : {}),
    ...(op.parameters
      ? {
          parameters: Object.entries(op.parameters).map(([name, description]) => ({
            name,
            in: "path",
            required: true,
            description,
            schema: { type: "string" },
          })),
        }
      : {}),
    ...(op.request ? { requestBody: { required: true, content: requestContent(op.request, op.form === true) } } : {}),
    responses: Object.fromEntries(Object.entries(op.responses).map(([status, spec]) => [status, response(spec)])),
  };
}

function build(): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const op of OPERATIONS as readonly Operation[]) (paths[op.path] ??= {})[op.method] = operation(op);
  return {
    openapi: "3.1.0",
    info: {
      title: "Rekey API",
      version: "1.0.0",
      description: [
        'JSON in, JSON out, snake_case fields. Every error has one shape: {"error": {"code", "message", "fields"?}}.',
        `Bodies must be application/json and at most ${contract.MAX_BODY_BYTES} bytes; unknown fields are ignored.`,
        "A path under /api/v1 that does not exist answers 404 with code not_found.",
        'The device authorization endpoints (RFC 8628) also take form-encoded bodies and answer errors in OAuth\'s shape, {"error", "error_description"}.',
      ].join(" "),
    },
    tags: [{ name: "Password reset" }, { name: "Sign-in" }, { name: "Account" }, { name: "Device authorization" }, { name: "Operations" }],
    paths,
    components: {
      schemas: { ...componentSchemas(REQUEST_SCHEMAS, "input"), ...componentSchemas(RESPONSE_SCHEMAS, "output") },
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description:
            'An opaque token from /api/v1/auth/sign-in (or the device flow), sent as Authorization: Bearer <token>. It is a session of the account: checked against the database on every request, ended by a password change, a reset, "This wasn\'t me", an administrator or ending all sessions. No JWT, no refresh token: sign in again when it ends.',
        },
        sessionCookie: {
          type: "apiKey",
          in: "cookie",
          name: "authjs.session-token",
          description:
            "The session cookie set by signing in on the web page (named __Host-authjs.session-token when the app runs on https).",
        },
      },
    },
  };
}

let cached: JsonObject | undefined;

/** The OpenAPI 3.1 document of /api/v1, built once per process from the contract. */
export function openApiDocument(): JsonObject {
  cached ??= build();
  return cached;
}
