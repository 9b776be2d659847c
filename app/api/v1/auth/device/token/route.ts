import { getDb } from "@/lib/db";
import { bearerTokenAnswer } from "@/lib/auth/bearer";
import { requestContext } from "@/lib/client-ip";
import { pollDeviceToken } from "@/lib/device/flow";
import { afterResponse } from "@/lib/job-definitions";
import { DEVICE_CODE_GRANT_TYPE, DeviceTokenRequest, TokenResponse } from "../../../_lib/contract";
import { respond, routeHandlers } from "../../../_lib/http";
import { oauthError, parseOAuthBody } from "../../../_lib/oauth";

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async POST(request) {
    const body = await parseOAuthBody(request, DeviceTokenRequest);
    if (!body.ok) return body.response;
    if (body.data.grant_type !== undefined && body.data.grant_type !== DEVICE_CODE_GRANT_TYPE) {
      return oauthError(400, "unsupported_grant_type", `Only grant_type=${DEVICE_CODE_GRANT_TYPE} is supported here.`);
    }
    const result = await pollDeviceToken(
      await getDb(),
      { deviceCode: body.data.device_code, ...requestContext(request.headers) },
      afterResponse,
    );
    if (!result.ok) return oauthError(400, result.error, result.description);
    return respond(200, TokenResponse, bearerTokenAnswer(result.session, result.user));
  },
});
