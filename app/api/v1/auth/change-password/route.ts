import { cookies } from "next/headers";
import { getDb } from "@/lib/db";
import { changePassword } from "@/lib/accounts/change-password";
import { auth } from "@/lib/auth/config";
import { sessionCookie } from "@/lib/auth/sessions";
import { requestContext } from "@/lib/client-ip";
import { describeWait } from "@/lib/rate-limit";
import { ChangePasswordRequest, MessageResponse } from "../../_lib/contract";
import { apiError, parseJsonBody, passwordRejected, rateLimited, refuseCrossSite, respond, routeHandlers } from "../../_lib/http";
import { afterResponse } from "@/lib/job-definitions";

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async POST(request) {
    // The session cookie authenticates this endpoint, so another site must not make a browser call it.
    const refused = refuseCrossSite(request);
    if (refused) return refused;
    const session = await auth();
    if (!session?.user) return apiError(401, "unauthenticated", "Sign in first.");
    const body = await parseJsonBody(request, ChangePasswordRequest);
    if (!body.ok) return body.response;

    const result = await changePassword(
      await getDb(),
      {
        userId: session.user.id,
        currentPassword: body.data.current_password,
        newPassword: body.data.new_password,
        currentSessionId: session.sessionId,
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
    const c = sessionCookie(result.session.sessionToken, result.session.expires);
    (await cookies()).set(c.name, c.value, c.options);
    return respond(200, MessageResponse, { message: "Your password has been changed. Every other session has been signed out." });
  },
});
