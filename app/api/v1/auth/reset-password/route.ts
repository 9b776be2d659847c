import { SECOND_FACTOR_COPY, tooManyCodesMessage } from "@/app/_components/second-factor-copy";
import { RESET_LINK_ATTEMPTS_SPENT, RESET_LINK_PROBLEMS } from "@/app/(auth)/reset-password/[token]/token-problems";
import { getDb } from "@/lib/db";
import { requestContext } from "@/lib/client-ip";
import { resetPassword } from "@/lib/recovery/reset";
import { MessageResponse, ResetPasswordRequest } from "../../_lib/contract";
import { apiError, parseJsonBody, passwordRejected, rateLimited, respond, routeHandlers } from "../../_lib/http";
import { afterResponse } from "@/lib/job-definitions";

const SECOND_FACTOR_ERRORS = { SECOND_FACTOR_REQUIRED: "second_factor_required", INVALID_CODE: "invalid_second_factor" } as const;

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async POST(request) {
    const body = await parseJsonBody(request, ResetPasswordRequest);
    if (!body.ok) return body.response;
    const { token, new_password, otp, recovery_code } = body.data;
    const result = await resetPassword(
      await getDb(),
      { token, password: new_password, otp, recoveryCode: recovery_code, ...requestContext(request.headers) },
      afterResponse,
    );
    if (!result.ok) {
      switch (result.code) {
        case "PASSWORD_REJECTED":
          return passwordRejected(result.passwordErrors);
        case "RATE_LIMITED":
          return rateLimited(
            result.retryAfterSeconds,
            `${tooManyCodesMessage(result.retryAfterSeconds)} The link still works until it expires.`,
          );
        case "SECOND_FACTOR_REQUIRED":
        case "INVALID_CODE":
          return apiError(400, SECOND_FACTOR_ERRORS[result.code], SECOND_FACTOR_COPY[result.code]);
        case "TOKEN_PROBLEM": {
          const copy = RESET_LINK_PROBLEMS[result.problem];
          return apiError(400, `${result.problem}_token`, `${copy.title}. ${copy.body}`);
        }
        case "TOO_MANY_ATTEMPTS":
          return apiError(400, "too_many_attempts", `${RESET_LINK_ATTEMPTS_SPENT.title}. ${RESET_LINK_ATTEMPTS_SPENT.body}`);
      }
    }
    return respond(200, MessageResponse, {
      message: "Your password has been changed. Every session has been signed out; sign in with your new password.",
    });
  },
});
