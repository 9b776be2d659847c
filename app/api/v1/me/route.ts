import { cookies } from "next/headers";
import { getDb } from "@/lib/db";
import { requestAccountDeletion } from "@/lib/accounts/delete-account";
import { auth } from "@/lib/auth/config";
import { readBearerCredentials } from "@/lib/auth/bearer";
import { confirmIdentity } from "@/lib/auth/confirm-identity";
import { sessionCookieName } from "@/lib/auth/cookie-names";
import { accountSummary } from "@/lib/auth/user-sessions";
import { requestContext } from "@/lib/client-ip";
import { afterResponse } from "@/lib/job-definitions";
import { describeWait } from "@/lib/rate-limit";
import { bearerRefused, requireBearer } from "../_lib/bearer";
import { DeleteAccountRequest, DeleteAccountResponse, MeResponse } from "../_lib/contract";
import { apiError, parseJsonBody, rateLimited, refuseCrossSite, respond, routeHandlers } from "../_lib/http";

const SIGN_IN_FIRST = () => apiError(401, "unauthenticated", "Sign in first.", { headers: { "WWW-Authenticate": 'Bearer realm="rekey"' } });

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async GET(request) {
    const auth = await requireBearer(request);
    if (!auth.ok) return auth.response;
    const me = await accountSummary(await getDb(), auth.session.userId);
    // Deleted between the two reads: its sessions went with it.
    if (!me) return bearerRefused("INVALID_TOKEN");
    return respond(200, MeResponse, {
      id: me.id,
      email: me.email,
      email_verified: me.emailVerified,
      two_factor_enabled: me.twoFactorEnabled,
      passkeys: me.passkeys,
      created_at: me.createdAt.toISOString(),
    });
  },

  // Deleting the account: "Confirm it's you" (password, and a code with two-factor on) in the
  // same request, then the deletion, which checks the typed address and the confirmation again
  // inside its transaction.
  async DELETE(request) {
    const bearer = readBearerCredentials(request.headers).present;
    let caller: { userId: string; sessionId: string };
    if (bearer) {
      const authenticated = await requireBearer(request);
      if (!authenticated.ok) return authenticated.response;
      caller = { userId: authenticated.session.userId, sessionId: authenticated.session.id };
    } else {
      // The session cookie authenticates this request, so another site must not make a browser send it.
      const refused = refuseCrossSite(request);
      if (refused) return refused;
      const session = await auth();
      if (!session?.user) return SIGN_IN_FIRST();
      caller = { userId: session.user.id, sessionId: session.sessionId };
    }
    const body = await parseJsonBody(request, DeleteAccountRequest);
    if (!body.ok) return body.response;
    const db = await getDb();
    const context = requestContext(request.headers);
    const confirmed = await confirmIdentity(
      db,
      { ...caller, password: body.data.password, otp: body.data.otp ?? null, recoveryCode: body.data.recovery_code ?? null, ...context },
      afterResponse,
    );
    if (!confirmed.ok) {
      switch (confirmed.code) {
        case "WRONG_PASSWORD":
          return apiError(422, "invalid_current_password", "That is not the account's password.", {
            fields: { password: ["That is not the account's password."] },
          });
        case "SECOND_FACTOR_REQUIRED":
          return apiError(
            422,
            "second_factor_required",
            "This account has a second factor: send otp or recovery_code too (a passkey works only in a browser).",
          );
        case "INVALID_CODE":
          return apiError(422, "invalid_second_factor", "That code is not right.");
        case "RATE_LIMITED":
          return rateLimited(confirmed.retryAfterSeconds, `Too many attempts, try again in ${describeWait(confirmed.retryAfterSeconds)}.`);
        case "SESSION_ENDED":
          return bearer ? bearerRefused("INVALID_TOKEN") : SIGN_IN_FIRST();
      }
    }
    const result = await requestAccountDeletion(db, { ...caller, typedEmail: body.data.email, ...context }, afterResponse);
    if (!result.ok) {
      switch (result.code) {
        case "EMAIL_MISMATCH":
          return apiError(422, "validation_error", "That is not this account's email address.", {
            fields: { email: ["That is not this account's email address."] },
          });
        // Ended meanwhile (deleted by another request): this session went with it.
        case "CONFIRMATION_NEEDED":
        case "ALREADY_PENDING":
        case "NOT_FOUND":
          return bearer ? bearerRefused("INVALID_TOKEN") : SIGN_IN_FIRST();
      }
    }
    if (!bearer) (await cookies()).delete(sessionCookieName());
    return respond(200, DeleteAccountResponse, {
      message: "Your account is deleted. We emailed you a link that cancels the deletion until it is erased.",
      erased_after: result.erasedAfter.toISOString(),
    });
  },
});
