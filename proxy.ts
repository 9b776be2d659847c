import { NextResponse, type NextRequest } from "next/server";
import { auth } from "@/lib/auth/config";
import { env } from "@/lib/env";
import { pageSecurityHeaders } from "@/lib/security-headers";

// Signed-in-only areas. Pages check again (requireSession), so a route missing here is still safe.
const PROTECTED = ["/account"];

// Pages whose URL carries a token from an email.
const TOKEN_PAGES = ["/reset-password/", "/verify-email/", "/wasnt-me/"];

// A link's token is in the URL: no Referer may carry it off, no cache or index may keep it.
const TOKEN_PAGE_HEADERS = {
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store, max-age=0",
  "X-Robots-Tag": "noindex, nofollow",
};

/**
 * Under `Referrer-Policy: no-referrer` browsers send `Origin: null` with a form POST, which
 * Next's server-action CSRF check refuses, so the form would fail without JavaScript. The
 * browser's own `Sec-Fetch-Site: same-origin` (no script can set it) proves the post came from
 * this site; only then is the Origin restored to the one Next compares against.
 */
function sameOriginFormPostHeaders(request: NextRequest): Headers {
  const headers = new Headers(request.headers);
  if (request.method === "POST" && headers.get("origin") === "null" && headers.get("sec-fetch-site") === "same-origin") {
    const host = headers.get("x-forwarded-host") ?? headers.get("host");
    const proto = (headers.get("x-forwarded-proto") ?? request.nextUrl.protocol).replace(/:$/, "");
    if (host) headers.set("origin", `${proto}://${host}`);
  }
  return headers;
}

export async function proxy(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  const tokenPage = TOKEN_PAGES.some((p) => pathname.startsWith(p));
  const requestHeaders = tokenPage ? sameOriginFormPostHeaders(request) : new Headers(request.headers);
  const security = pageSecurityHeaders(requestHeaders, { appUrl: env().APP_URL, development: !env().isProduction });
  const next = (headers: Record<string, string> = {}) =>
    NextResponse.next({ headers: { ...headers, ...security }, request: { headers: requestHeaders } });

  if (tokenPage) return next(TOKEN_PAGE_HEADERS);

  if (PROTECTED.some((p) => pathname === p || pathname.startsWith(`${p}/`))) {
    const session = await auth();
    if (session?.user) return next();
    // Built from APP_URL: a redirect must never follow a forged Host header.
    const login = new URL("/login", env().APP_URL);
    login.search = new URLSearchParams({ callbackUrl: `${pathname}${search}` }).toString();
    return NextResponse.redirect(login);
  }
  return next();
}

export const config = {
  // Every page (each needs its own CSP nonce); not the API, static files or icons.
  matcher: ["/((?!api/|_next/static/|_next/image|favicon.ico|icon.svg).*)"],
};
