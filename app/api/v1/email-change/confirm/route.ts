import { confirmEmailChange } from "@/lib/accounts/change-email";
import { authenticateRequest, readBearerCredentials } from "@/lib/auth/bearer";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { afterResponse } from "@/lib/job-definitions";
import { describeWait } from "@/lib/rate-limit";
import { CHANGE_PROBLEMS } from "@/app/(auth)/email-change/problems";
import { ConfirmEmailChangeRequest, MessageResponse } from "../../_lib/contract";
import { apiError, parseJsonBody, rateLimited, respond, routeHandlers } from "../../_lib/http";

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async POST(request) {
    const body = await parseJsonBody(request, ConfirmEmailChangeRequest);
    if (!body.ok) return body.response;
    const db = await getDb();
    // A live bearer session of the caller stays signed in; no token is needed to confirm.
    const bearer = readBearerCredentials(request.headers).present ? await authenticateRequest(db, request.headers) : null;
    const result = await confirmEmailChange(
      db,
      { ...body.data, sessionId: bearer?.ok ? bearer.session.id : null, ...requestContext(request.headers) },
      afterResponse,
    );
    if (!result.ok) {
      switch (result.code) {
        case "TOKEN_PROBLEM": {
          const copy = CHANGE_PROBLEMS[result.problem];
          return apiError(400, `${result.problem}_token`, `${copy.title}. ${copy.body}`);
        }
        case "WRONG_PASSWORD":
          return apiError(422, "invalid_current_password", "That is not the account's password. The link still works.", {
            fields: { password: ["That is not the account's password."] },
          });
        case "ADDRESS_TAKEN":
          return apiError(409, "address_taken", "This address now belongs to another account. Your address is unchanged.");
        case "RATE_LIMITED":
          return rateLimited(result.retryAfterSeconds, `Too many attempts, try again in ${describeWait(result.retryAfterSeconds)}.`);
      }
    }
    return respond(200, MessageResponse, { message: "Your email address is changed. Every other session has been signed out." });
  },
});
