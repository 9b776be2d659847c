import { exportAccount, exportFileName } from "@/lib/accounts/export";
import { reauthMinutes } from "@/lib/auth/confirm-identity";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { requireCaller } from "../../_lib/bearer";
import { AccountExportResponse } from "../../_lib/contract";
import { apiError, respond, routeHandlers } from "../../_lib/http";

export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async GET(request) {
    const authenticated = await requireCaller(request);
    if (!authenticated.ok) return authenticated.response;
    const { caller } = authenticated;
    const result = await exportAccount(await getDb(), {
      userId: caller.userId,
      sessionId: caller.sessionId,
      ...requestContext(request.headers),
    });
    if (!result.ok) {
      const minutes = reauthMinutes();
      return apiError(
        403,
        "confirmation_required",
        caller.bearer
          ? `Downloading your data needs a sign-in within the last ${minutes} minutes. Sign in again (POST /api/v1/auth/sign-in) and use the new token.`
          : `Downloading your data needs a recent confirmation. Confirm it's you at /account/export, then download within ${minutes} minutes.`,
      );
    }
    return respond(200, AccountExportResponse, result.data, {
      "Content-Disposition": `attachment; filename="${exportFileName(result.data)}"`,
    });
  },
});
