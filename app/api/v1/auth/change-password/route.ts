import { cookies } from "next/headers";
import { getDb } from "@/lib/db";
import { changePassword } from "@/lib/accounts/change-password";
import { sessionCookie } from "@/lib/auth/sessions";
import { requestContext } from "@/lib/client-ip";
import { describeWait } from "@/lib/rate-limit";
import { bearerFromSession, bearerTokenAnswer } from "@/lib/auth/bearer";
import { requireCaller } from "../../_lib/bearer";
import { ChangePasswordRequest, ChangePasswordResponse } from "../../_lib/contract";
import { apiError, parseJsonBody, passwordRejected, rateLimited, respond, routeHandlers } from "../../_lib/http";
import { afterResponse } from "@/lib/job-definitions";

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async POST(request) {
    const authenticated = await requireCaller(request);
    if (!authenticated.ok) return authenticated.response;
    const { caller } = authenticated;
    const body = await parseJsonBody(request, ChangePasswordRequest);
    if (!body.ok) return body.response;

    const result = await changePassword(
      await getDb(),
      {
        userId: caller.userId,
        currentPassword: body.data.current_password,
        newPassword: body.data.new_password,
        currentSessionId: caller.sessionId,
        ...(caller.bearer ? { carrier: { kind: caller.bearer.kind, clientName: caller.bearer.clientName } } : {}),
        ...requestContext(request.headers),
      },
      afterResponse,
    );
    if (!result.ok) {
      switch (result.code) {
        case "WRONG_PASSWORD":
          return apiError(422, "invalid_current_password", "Your current password is incorrect.", {
            fields: { current_password: ["Your current password is incorrect."] },
          });
        case "RATE_LIMITED":
          return rateLimited(result.retryAfterSeconds, `Too many attempts, try again in ${describeWait(result.retryAfterSeconds)}.`);
        case "PASSWORD_REJECTED":
          return passwordRejected(result.passwordErrors);
        case "CONFLICT":
          return apiError(409, "conflict", "Your password was changed by another request. Sign in again.");
      }
    }
    const message = "Your password has been changed. Every other session has been signed out.";
    if (caller.bearer) {
      return respond(200, ChangePasswordResponse, { ...bearerTokenAnswer(bearerFromSession(result.session), caller.bearer.user), message });
    }
    const c = sessionCookie(result.session.sessionToken, result.session.expires);
    (await cookies()).set(c.name, c.value, c.options);
    return respond(200, ChangePasswordResponse, { message });
  },
});
