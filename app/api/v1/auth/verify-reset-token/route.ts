import { getDb } from "@/lib/db";
import { requestContext } from "@/lib/client-ip";
import { auditTokenProblem, inspectResetToken } from "@/lib/recovery/reset";
import { VerifyResetTokenRequest, VerifyResetTokenResponse } from "../../_lib/contract";
import { parseJsonBody, respond, routeHandlers } from "../../_lib/http";

// Like opening the link's page: inspects the token and never consumes it.
export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async POST(request) {
    const body = await parseJsonBody(request, VerifyResetTokenRequest);
    if (!body.ok) return body.response;
    const db = await getDb();
    const result = await inspectResetToken(db, body.data.token);
    if (result.status !== "valid") {
      await auditTokenProblem(db, result.status, requestContext(request.headers));
      return respond(200, VerifyResetTokenResponse, { valid: false, reason: result.status });
    }
    return respond(200, VerifyResetTokenResponse, {
      valid: true,
      expires_at: result.expiresAt.toISOString(),
      email: result.maskedEmail,
      second_factor_required: result.secondFactorRequired,
    });
  },
});
