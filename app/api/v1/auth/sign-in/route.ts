import { getDb } from "@/lib/db";
import { signInApp } from "@/lib/auth/app-sign-in";
import { bearerTokenAnswer } from "@/lib/auth/bearer";
import { requestContext } from "@/lib/client-ip";
import { afterResponse } from "@/lib/job-definitions";
import { SignInRequest, SignInResponse } from "../../_lib/contract";
import { apiError, parseJsonBody, rateLimited, respond, routeHandlers } from "../../_lib/http";
import { recogniseDevice } from "@/lib/auth/device-token";
import { signInThrottledMessage } from "@/lib/auth/sign-in-throttle";
import { methodNames } from "@/lib/second-factor/second-factors";

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async POST(request) {
    const body = await parseJsonBody(request, SignInRequest);
    if (!body.ok) return body.response;
    const { email, password, client_name, device_token } = body.data;
    const context = requestContext(request.headers);
    const result = await signInApp(
      await getDb(),
      { email, password, clientName: client_name ?? null, deviceToken: device_token ?? null, ...context },
      afterResponse,
    );
    if (result.ok)
      return respond(200, SignInResponse, { ...bearerTokenAnswer(result.issued, result.user), device_token: result.deviceToken });
    switch (result.code) {
      case "SECOND_FACTOR_REQUIRED":
        return respond(200, SignInResponse, {
          status: "second_factor_required",
          challenge: result.challenge.token,
          methods: methodNames(result.secondFactors),
          expires_in: Math.max(0, Math.floor((result.challenge.expiresAt.getTime() - Date.now()) / 1000)),
        });
      case "PASSWORD_RESET_FORCED":
        return apiError(
          401,
          "password_reset_required",
          "This password no longer works: an administrator required a new password for this account. We emailed a link to choose one.",
        );
      default:
        return signInRefused(result, { email, ip: context.ip, deviceToken: device_token ?? null });
    }
  },
});

/** 401 invalid_credentials (one answer for a wrong password, an unknown address, an unconfirmed account), or 429. */
export async function signInRefused(
  result: { code: "INVALID_CREDENTIALS" } | { code: "RATE_LIMITED"; retryAfterSeconds: number },
  attempt: { email: string; ip: string | null; deviceToken: string | null },
): Promise<Response> {
  if (result.code === "INVALID_CREDENTIALS") return apiError(401, "invalid_credentials", "Incorrect email or password.");
  const device = recogniseDevice(attempt.deviceToken, attempt.email);
  const message = await signInThrottledMessage(await getDb(), { email: attempt.email, ip: attempt.ip, device: device?.nonce ?? null });
  return rateLimited(result.retryAfterSeconds, message);
}
