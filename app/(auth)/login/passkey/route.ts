import { NextResponse } from "next/server";
import { refuseCrossSite, routeHandlers } from "@/app/api/v1/_lib/http";
import { passkeyCeremonyCookie, startPasskeySignIn } from "@/lib/auth/passkey-sign-in";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { tooManySignIns } from "../passkey-messages";

// Begins a passkey sign-in for this browser: the options for navigator.credentials.get() as
// JSON, and the ceremony bound to a fresh httpOnly cookie. A route, not a server action: the
// page asks on every load for its passkey autofill, and an action that sets a cookie makes
// Next.js render the page again into its answer (2.3 KiB, and the icons fetched again).
export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = routeHandlers({
  async POST(request) {
    // The cookie it sets is only a challenge's binding, but another site has no business asking.
    const refused = refuseCrossSite(request);
    if (refused) return refused;
    const started = await startPasskeySignIn(await getDb(), requestContext(request.headers));
    const headers = { "Cache-Control": "no-store" };
    if (!started.ok) {
      return NextResponse.json(
        { ok: false, message: tooManySignIns(started.retryAfterSeconds) },
        { status: 429, headers: { ...headers, "Retry-After": String(started.retryAfterSeconds) } },
      );
    }
    const response = NextResponse.json({ ok: true, options: started.options }, { headers });
    const cookie = passkeyCeremonyCookie(started.ceremony);
    response.cookies.set(cookie.name, cookie.value, cookie.options);
    return response;
  },
});
