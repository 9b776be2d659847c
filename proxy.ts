import { NextResponse, type NextRequest } from "next/server";
import { RETRY_AFTER_SECONDS, isDatabaseAvailable } from "@/lib/availability";
import { getDb } from "@/lib/db";
import { auth } from "@/lib/auth/config";
import { sessionCookieName } from "@/lib/auth/cookie-names";
import { argon2QueueFull } from "@/lib/argon2-slots";
import { renewSessionCookie } from "@/lib/auth/sessions";
import { env } from "@/lib/env";
import { log } from "@/lib/log";
import { pageSecurityHeaders } from "@/lib/security-headers";

// Where proxy.ts sends page requests while the database is down (rendered with status 503).
const UNAVAILABLE_PAGE = "/service-unavailable";

// Requests that work without the database, or that answer an outage themselves: Auth.js's CSRF
// and provider list, and the sign-in form's post (it says "could not sign you in right now" in
// the form).
function answersWithoutProxyCheck(request: NextRequest): boolean {
  const { pathname } = request.nextUrl;
  if (["/api/auth/csrf", "/api/auth/providers"].includes(pathname)) return true;
  return request.method === "POST" && pathname === "/login";
}

const isApi = (request: NextRequest) => request.nextUrl.pathname.startsWith("/api/");

const UNAVAILABLE_HEADERS = { "Retry-After": String(RETRY_AFTER_SECONDS), "Cache-Control": "no-store" };

/** The 503 answer: the API's error shape for /api/*, the "temporarily unavailable" page otherwise. */
function unavailable(request: NextRequest, requestHeaders: Headers, security: Record<string, string>): NextResponse {
  if (isApi(request)) {
    return NextResponse.json(
      { error: { code: "service_unavailable", message: "The service is temporarily unavailable. Try again in a moment." } },
      { status: 503, headers: UNAVAILABLE_HEADERS },
    );
  }
  return NextResponse.rewrite(new URL(UNAVAILABLE_PAGE, request.url), {
    status: 503,
    headers: { ...UNAVAILABLE_HEADERS, ...security },
    request: { headers: requestHeaders },
  });
}

/** A password check: the sign-in form's post and Auth.js's credentials callback. */
const isSignIn = (request: NextRequest) =>
  request.method === "POST" && ["/login", "/api/auth/callback/credentials", "/api/v1/auth/sign-in"].includes(request.nextUrl.pathname);

// Turned away while the argon2 queue is full: a second, as long as a few queued runs take.
const BUSY_RETRY_AFTER_SECONDS = 1;
const BUSY_HEADERS = { "Retry-After": String(BUSY_RETRY_AFTER_SECONDS), "Cache-Control": "no-store" };

// A page of its own, not a rewrite to /service-unavailable: Next would take the rewritten form
// post for a server action of that page and answer 409.
const BUSY_PAGE = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Busy - Rekey</title></head><body><main><h1>Too many sign-ins right now</h1><p>Please try again in a moment.</p><p><a href="/login">Back to sign in</a></p></main></body></html>`;

/** The answer to a sign-in turned away: 503 with Retry-After, in the API's shape or as a small page. */
function busy(request: NextRequest, security: Record<string, string>): NextResponse {
  if (isApi(request)) {
    return NextResponse.json(
      { error: { code: "service_unavailable", message: "Too many sign-ins right now. Try again in a moment." } },
      { status: 503, headers: BUSY_HEADERS },
    );
  }
  return new NextResponse(BUSY_PAGE, {
    status: 503,
    headers: { ...BUSY_HEADERS, ...security, "Content-Type": "text/html; charset=utf-8" },
  });
}

// Signed-in-only areas. Pages check again (requireSession), so a route missing here is still safe.
const PROTECTED = ["/account"];

// Pages whose URL carries a token from an email.
const TOKEN_PAGES = ["/reset-password/", "/verify-email/", "/wasnt-me/", "/email-change/", "/cancel-deletion/"];

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

export async function proxy(request: NextRequest): Promise<NextResponse> {
  const { pathname } = request.nextUrl;
  const tokenPage = TOKEN_PAGES.some((p) => pathname.startsWith(p));
  const requestHeaders = tokenPage ? sameOriginFormPostHeaders(request) : new Headers(request.headers);
  // The API answers JSON, not pages: no nonce policy to stamp there (next.config.ts gives it the fixed headers).
  const security = isApi(request) ? {} : pageSecurityHeaders(requestHeaders, { appUrl: env().APP_URL, development: !env().isProduction });
  const next = (headers: Record<string, string> = {}) =>
    NextResponse.next({ headers: { ...headers, ...security }, request: { headers: requestHeaders } });

  // Checked before anything renders: a page that fails mid-render can only answer 500.
  if (pathname === UNAVAILABLE_PAGE) return unavailable(request, requestHeaders, security);
  // Under a flood of sign-ins, the excess is refused here for the price of a header check,
  // instead of each one rendering after waiting its turn for argon2 (ARGON2_MAX_QUEUE).
  if (isSignIn(request) && argon2QueueFull()) return busy(request, security);
  if (!answersWithoutProxyCheck(request) && !(await isDatabaseAvailable())) return unavailable(request, requestHeaders, security);

  // Before auth() below, so that the expiry it sees is already the renewed one.
  const renewed = isApi(request) ? null : await renewedSessionCookie(request);
  const response = tokenPage ? next(TOKEN_PAGE_HEADERS) : await route(request, next);
  if (renewed) response.cookies.set(renewed.name, renewed.value, renewed.options);
  return response;
}

/** The answer for a page or API request once the database is known to be up. */
async function route(request: NextRequest, next: () => NextResponse): Promise<NextResponse> {
  const { pathname, search } = request.nextUrl;

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
  // Every page (each needs its own CSP nonce) and Auth.js's routes (a sign-in may be turned
  // away, and they need the database); not the build's static files or icons. Not the JSON API
  // (/api/v1) either: nothing here applies to it but the availability check, which its route
  // wrapper makes itself (app/api/v1/_lib/http.ts). A pass through the proxy cost a
  // forgot-password answer about 0.6 ms of the event loop's time, more than half again what
  // the answer itself costs (1.0 ms).
  matcher: ["/((?!_next/static/|_next/image|favicon.ico|icon.svg|api/v1/).*)"],
};
