import { getDb } from "@/lib/db";
import { requestContext } from "@/lib/client-ip";
import { formatUserCode } from "@/lib/device/codes";
import { requestDeviceAuthorization } from "@/lib/device/flow";
import { env } from "@/lib/env";
import { describeWait } from "@/lib/rate-limit";
import { DeviceCodeRequest, DeviceCodeResponse } from "../../../_lib/contract";
import { respond, routeHandlers } from "../../../_lib/http";
import { oauthError, parseOAuthBody } from "../../../_lib/oauth";

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async POST(request) {
    const body = await parseOAuthBody(request, DeviceCodeRequest);
    if (!body.ok) return body.response;
    const result = await requestDeviceAuthorization(await getDb(), {
      clientName: body.data.client_name,
      ...requestContext(request.headers),
    });
    if (!result.ok) {
      return oauthError(429, "slow_down", `Too many code requests, try again in ${describeWait(result.retryAfterSeconds)}.`, {
        "Retry-After": String(result.retryAfterSeconds),
      });
    }
    // From APP_URL, never the Host header: a forged Host must not send the person elsewhere.
    const verificationUri = `${env().APP_URL}/device`;
    const userCode = formatUserCode(result.userCode);
    return respond(200, DeviceCodeResponse, {
      device_code: result.deviceCode,
      user_code: userCode,
      verification_uri: verificationUri,
      verification_uri_complete: `${verificationUri}?${new URLSearchParams({ code: userCode })}`,
      expires_in: result.expiresIn,
      interval: result.interval,
    });
  },
});
