// The security headers of every response. Imported by next.config.ts (plain Node) and by
// proxy.ts, so no "server-only" here.
import { randomBytes } from "node:crypto";

/** The request header that carries this request's CSP nonce to server components. */
export const NONCE_HEADER = "x-nonce";

/** A fresh, unguessable nonce for one response's Content-Security-Policy. */
export function generateNonce(): string {
  return randomBytes(16).toString("base64");
}

/**
 * The Content-Security-Policy of a page, allowing only scripts that carry `nonce` (Next.js
 * stamps it on its own scripts when it finds it in the request's policy) and what they load
 * ('strict-dynamic'). Styles come only from this origin's stylesheets: no page renders an
 * inline style, so an injected `<style>` or style attribute cannot restyle a form into a
 * phishing page. Development adds what `next dev` needs: eval for React's debug stacks and
 * inline styles for its overlay and the outbox's email previews.
 */
export function contentSecurityPolicy(nonce: string, options: { development: boolean; https: boolean }): string {
  const directives = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${options.development ? " 'unsafe-eval'" : ""}`,
    `style-src 'self'${options.development ? " 'unsafe-inline'" : ` 'nonce-${nonce}'`}`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ];
  if (options.https) directives.push("upgrade-insecure-requests");
  return directives.join("; ");
}

/** Whether the public origin is served over https (then cookies get prefixes and HSTS is sent). */
export function isHttpsOrigin(appUrl: string): boolean {
  return new URL(appUrl).protocol === "https:";
}

/** Headers every response carries, whatever the route; fixed at build time (next.config.ts). */
export function staticSecurityHeaders(): { key: string; value: string }[] {
  return [
    { key: "X-Content-Type-Options", value: "nosniff" },
    { key: "X-Frame-Options", value: "DENY" },
    { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
    { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=()" },
    // A window this site opens, or one that opens it, gets no handle on the other.
    { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
  ];
}

/**
 * Gives a page request its security headers, decided per request from the running
 * configuration: sets a fresh nonce's Content-Security-Policy (which Next.js reads to stamp
 * the nonce on its scripts) and `x-nonce` on `requestHeaders`, and returns the response
 * headers: that policy, and HSTS when APP_URL is https. (Sent over plain http HSTS is ignored,
 * and on localhost it would pin https on every port.)
 */
export function pageSecurityHeaders(requestHeaders: Headers, options: { appUrl: string; development: boolean }): Record<string, string> {
  const nonce = generateNonce();
  const https = isHttpsOrigin(options.appUrl);
  const policy = contentSecurityPolicy(nonce, { development: options.development, https });
  requestHeaders.set(NONCE_HEADER, nonce);
  requestHeaders.set("content-security-policy", policy);
  const headers: Record<string, string> = { "Content-Security-Policy": policy };
  if (https) headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains";
  return headers;
}
