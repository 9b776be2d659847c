import { after } from "next/server";
import { TOKEN_PROBLEM_COPY } from "@/app/(auth)/reset-password/[token]/token-problems";
import { getDb } from "@/db/client";
import { requestContext } from "@/lib/client-ip";
import { resetPassword } from "@/lib/password-reset";
import { MessageResponse, ResetPasswordRequest } from "../../_lib/contract";
import { apiError, parseJsonBody, passwordRejected, respond, routeHandlers } from "../../_lib/http";

const TOKEN_ERRORS = { TOKEN_INVALID: "invalid_token", TOKEN_EXPIRED: "expired_token", TOKEN_USED: "used_token" } as const;

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async POST(request) {
    const body = await parseJsonBody(request, ResetPasswordRequest);
    if (!body.ok) return body.response;
    const result = await resetPassword(
      await getDb(),
      { token: body.data.token, password: body.data.new_password, ...requestContext(request.headers) },
      (task) => after(task),
    );
    if (!result.ok) {
      if (result.code === "PASSWORD_REJECTED") return passwordRejected(result.passwordErrors);
      const copy = TOKEN_PROBLEM_COPY[result.code];
      return apiError(400, TOKEN_ERRORS[result.code], `${copy.title}. ${copy.body}`);
    }
    return respond(200, MessageResponse, { message: "Your password has been changed. Every session has been signed out; sign in with your new password." });
  },
});
