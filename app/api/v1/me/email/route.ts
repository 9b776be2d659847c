import { requestEmailChange } from "@/lib/accounts/change-email";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { afterResponse } from "@/lib/job-definitions";
import { describeWait } from "@/lib/rate-limit";
import { requireCaller } from "../../_lib/bearer";
import { ChangeEmailRequest, MessageResponse } from "../../_lib/contract";
import { apiError, parseJsonBody, rateLimited, respond, routeHandlers } from "../../_lib/http";

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async POST(request) {
    const authenticated = await requireCaller(request);
    if (!authenticated.ok) return authenticated.response;
    const { caller } = authenticated;
    const body = await parseJsonBody(request, ChangeEmailRequest);
    if (!body.ok) return body.response;
    const { new_email: newEmail, password, otp, recovery_code: recoveryCode } = body.data;
    const result = await requestEmailChange(
      await getDb(),
      {
        userId: caller.userId,
        sessionId: caller.sessionId,
        newEmail,
        confirmation: password ? { password, otp, recoveryCode } : null,
        ...requestContext(request.headers),
      },
      afterResponse,
    );
    if (!result.ok) {
      switch (result.code) {
        case "CONFIRMATION_NEEDED":
          return apiError(403, "confirmation_required", "Confirm it's you: send password (and otp or recovery_code with two-factor on).");
        case "SAME_ADDRESS":
          return apiError(422, "validation_error", "That is already your email address.", {
            fields: { new_email: ["That is already your email address."] },
          });
        case "WRONG_PASSWORD":
          return apiError(422, "invalid_current_password", "That is not your password.", {
            fields: { password: ["That is not your password."] },
          });
        case "SECOND_FACTOR_REQUIRED":
          return apiError(400, "second_factor_required", "Your account uses two-factor authentication: send otp or recovery_code too.");
        case "INVALID_CODE":
          return apiError(400, "invalid_second_factor", "That code is not right, or it was already used.");
        case "SESSION_ENDED":
          return apiError(401, "unauthenticated", "This session has ended. Sign in again.");
        case "RATE_LIMITED":
          return rateLimited(result.retryAfterSeconds, `Too many attempts, try again in ${describeWait(result.retryAfterSeconds)}.`);
      }
    }
    return respond(202, MessageResponse, {
      message: "We sent a confirmation link to the new address. Nothing changes until it is opened and the password entered.",
    });
  },
});
