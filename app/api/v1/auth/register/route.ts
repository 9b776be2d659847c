import { getDb } from "@/lib/db";
import { requestRegistration } from "@/lib/accounts/register";
import { requestContext } from "@/lib/client-ip";
import { afterResponse } from "@/lib/job-definitions";
import { passwordPolicyErrors } from "@/lib/password-hashing";
import { describeWait } from "@/lib/rate-limit";
import { MessageResponse, REGISTRATION_ACCEPTED, RegisterRequest } from "../../_lib/contract";
import { apiError, parseJsonBody, rateLimited, respond, routeHandlers } from "../../_lib/http";

// The register page's answer, for every well-formed address: the account is created (or its
// owner told someone tried) after the response, by the same job.

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async POST(request) {
    const body = await parseJsonBody(request, RegisterRequest);
    if (!body.ok) return body.response;
    // The common-passwords check, which the schema cannot run (it reads a list).
    const policy = await passwordPolicyErrors(body.data.password);
    if (policy.length > 0) return apiError(422, "validation_error", "Choose a different password.", { fields: { password: policy } });
    const result = await requestRegistration(
      await getDb(),
      { email: body.data.email, password: body.data.password, ...requestContext(request.headers) },
      afterResponse,
    );
    if (!result.ok)
      return rateLimited(
        result.retryAfterSeconds,
        `Too many sign-ups from your network, try again in ${describeWait(result.retryAfterSeconds)}.`,
      );
    return respond(202, MessageResponse, REGISTRATION_ACCEPTED);
  },
});
