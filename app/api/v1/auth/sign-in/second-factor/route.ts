import { getDb } from "@/lib/db";
import { completeAppSignIn } from "@/lib/auth/app-sign-in";
import { bearerTokenAnswer } from "@/lib/auth/bearer";
import { requestContext } from "@/lib/client-ip";
import { afterResponse } from "@/lib/job-definitions";
import { describeWait } from "@/lib/rate-limit";
import { SignInSecondFactorRequest, TokenResponse } from "../../../_lib/contract";
import { apiError, parseJsonBody, rateLimited, respond, routeHandlers } from "../../../_lib/http";

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async POST(request) {
    const body = await parseJsonBody(request, SignInSecondFactorRequest);
    if (!body.ok) return body.response;
    const { challenge, otp, recovery_code, client_name, device_token } = body.data;
    const result = await completeAppSignIn(
      await getDb(),
      {
        challenge,
        otp: otp ?? null,
        recoveryCode: otp === undefined ? (recovery_code ?? null) : null,
        clientName: client_name ?? null,
        deviceToken: device_token ?? null,
        ...requestContext(request.headers),
      },
      afterResponse,
    );
    if (result.ok)
      return respond(200, TokenResponse, { ...bearerTokenAnswer(result.issued, result.user), device_token: result.deviceToken });
    switch (result.code) {
      case "INVALID_CODE":
        return apiError(401, "invalid_second_factor", "That code is not right, or it was already used.");
      case "RATE_LIMITED":
        return rateLimited(result.retryAfterSeconds, `Too many wrong codes. Try again in ${describeWait(result.retryAfterSeconds)}.`);
      case "CHALLENGE_EXPIRED":
        return apiError(401, "invalid_challenge", "This sign-in expired or was already completed. Sign in again with your password.");
    }
  },
});
