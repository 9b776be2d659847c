import { z } from "zod";
import { confirmIdentity, isIdentityConfirmed } from "@/lib/auth/confirm-identity";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { afterResponse } from "@/lib/job-definitions";
import { describeWait } from "@/lib/rate-limit";
import { removePasskey } from "@/lib/second-factor/passkeys";
import { requireCaller } from "../../_lib/bearer";
import { RemovePasskeyRequest } from "../../_lib/contract";
import { apiError, parseJsonBody, rateLimited, routeHandlers } from "../../_lib/http";

const PasskeyId = z.uuid();

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  // Removing a passkey: "Confirm it's you", as for the other factor and account changes. A
  // session confirmed within REAUTH_MINUTES needs no body; any other sends the password (and a
  // code with two-factor on) with this request.
  async DELETE(request) {
    const authenticated = await requireCaller(request);
    if (!authenticated.ok) return authenticated.response;
    const { caller } = authenticated;
    // The last path segment as sent, not decoded: anything but a canonical uuid is simply not found.
    const id = PasskeyId.safeParse(new URL(request.url).pathname.split("/").pop() ?? "");
    const db = await getDb();
    const context = requestContext(request.headers);
    const session = { userId: caller.userId, sessionId: caller.sessionId };
    if (!(await isIdentityConfirmed(db, session))) {
      if (!request.headers.get("content-type")) {
        return apiError(403, "confirmation_required", "Confirm it's you: send password (and otp or recovery_code with two-factor on).");
      }
      const body = await parseJsonBody(request, RemovePasskeyRequest);
      if (!body.ok) return body.response;
      const { password, otp, recovery_code: recoveryCode } = body.data;
      if (!password) {
        return apiError(403, "confirmation_required", "Confirm it's you: send password (and otp or recovery_code with two-factor on).");
      }
      const confirmed = await confirmIdentity(db, { ...session, password, otp, recoveryCode, ...context }, afterResponse);
      if (!confirmed.ok) {
        switch (confirmed.code) {
          case "WRONG_PASSWORD":
            return apiError(422, "invalid_current_password", "That is not your password.", {
              fields: { password: ["That is not your password."] },
            });
          case "SECOND_FACTOR_REQUIRED":
            return apiError(
              400,
              "second_factor_required",
              "Your account has a second factor (two-factor or a passkey): send otp or recovery_code too.",
            );
          case "INVALID_CODE":
            return apiError(400, "invalid_second_factor", "That code is not right, or it was already used.");
          case "SESSION_ENDED":
            return apiError(401, "unauthenticated", "This session has ended. Sign in again.");
          case "RATE_LIMITED":
            return rateLimited(
              confirmed.retryAfterSeconds,
              `Too many attempts, try again in ${describeWait(confirmed.retryAfterSeconds)}.`,
            );
        }
      }
    }
    if (!id.success) return apiError(404, "not_found", "This account has no passkey with that id.");
    const removed = await removePasskey(db, afterResponse, { userId: caller.userId, passkeyId: id.data, ...context });
    if (!removed.ok) return apiError(404, "not_found", "This account has no passkey with that id.");
    return new Response(null, { status: 204, headers: { "Cache-Control": "no-store" } });
  },
});
