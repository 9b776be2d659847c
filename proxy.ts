import { NextResponse, type NextRequest } from "next/server";
import { getDb } from "@/db/client";
import { auth } from "@/lib/auth/config";
import { renewSessionCookie, sessionCookieName } from "@/lib/auth/sessions";
import { env } from "@/lib/env";
import { log } from "@/lib/log";

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

/**
 * Re-issues the session cookie of a page GET when its session was renewed (at most once a
 * day): Auth.js's own refreshed cookie is dropped when auth() runs in a page or here. Only
 * GETs, so that it never races a response that sets a new session cookie (change password).
 */
async function renewedSessionCookie(request: NextRequest) {
  const token = request.method === "GET" ? request.cookies.get(sessionCookieName())?.value : undefined;
  if (!token) return null;
  try {
    return await renewSessionCookie(await getDb(), token);
  } catch (error) {
    // Renewal can wait for the next page; the page itself still answers (or says "try again").
    log("error", "session.renew_failed", {}, error);
    return null;
  }
}

export async function proxy(request: NextRequest) {
  // Before auth() below, so that the expiry it sees is already the renewed one.
  const renewed = await renewedSessionCookie(request);
  const response = await route(request);
  if (renewed) response.cookies.set(renewed.name, renewed.value, renewed.options);
  return response;
}

async function route(request: NextRequest): Promise<NextResponse> {
  const { pathname, search } = request.nextUrl;

  if (TOKEN_PAGES.some((p) => pathname.startsWith(p))) {
    return NextResponse.next({ headers: TOKEN_PAGE_HEADERS, request: { headers: sameOriginFormPostHeaders(request) } });
  }

  if (PROTECTED.some((p) => pathname === p || pathname.startsWith(`${p}/`))) {
    const session = await auth();
    if (session?.user) return NextResponse.next();
    // Built from APP_URL: a redirect must never follow a forged Host header.
    const login = new URL("/login", env().APP_URL);
    login.search = new URLSearchParams({ callbackUrl: `${pathname}${search}` }).toString();
    return NextResponse.redirect(login);
  }
  return NextResponse.next();
}

export const config = {
  // Every page (sessions are renewed on any of them), not API routes or static files.
  matcher: ["/((?!api/|_next/static/|_next/image|favicon\\.ico|icon\\.svg).*)"],
};
