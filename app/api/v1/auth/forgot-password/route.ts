import { getDb } from "@/lib/db";
import { requestContext } from "@/lib/client-ip";
import { requestPasswordReset } from "@/lib/recovery/request";
import { describeWait } from "@/lib/rate-limit";
import { ForgotPasswordRequest, MessageResponse, RESET_REQUEST_ACCEPTED } from "../../_lib/contract";
import { parseJsonBody, rateLimited, respond, routeHandlers } from "../../_lib/http";
import { afterResponse } from "@/lib/job-definitions";

// The same status and body for every well-formed address (RESET_REQUEST_ACCEPTED): the service
// defers everything that depends on whether the account exists until after the response.

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async POST(request) {
    const body = await parseJsonBody(request, ForgotPasswordRequest);
    if (!body.ok) return body.response;
    const result = await requestPasswordReset(await getDb(), { email: body.data.email, ...requestContext(request.headers) }, afterResponse);
    if (!result.ok)
      return rateLimited(result.retryAfterSeconds, `Too many requests, try again in ${describeWait(result.retryAfterSeconds)}.`);
    return respond(202, MessageResponse, RESET_REQUEST_ACCEPTED);
  },
});
