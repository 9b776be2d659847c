import { env } from "./env";

// Anything a browser or a proxy may read as a slash, a scheme or a dot segment once decoded or
// normalised: backslashes, encoded slashes / backslashes / dots, control characters and
// whitespace (URL parsers drop tabs and newlines, so "/\t/evil.com" becomes "//evil.com").
const SUSPICIOUS = /[\\\u0000-\u0020\u007f]|%(2f|5c|2e|00|09|0a|0d)/i;

// A "." or ".." path segment: resolving it can turn "/.//evil.com" into "//evil.com".
const DOT_SEGMENT = /(^|\/)\.{1,2}(\/|$)/;

/**
 * A same-origin path to send the user to after sign-in, or `fallback`. Accepts only a path
 * ("/account?x=1#y") or an absolute URL on APP_URL's origin; refuses every off-site form on
 * its own: other origins, protocol-relative "//host", schemes, backslashes, dot segments,
 * encoded slashes and control characters.
 */
export function safeCallbackPath(value: unknown, fallback = "/account"): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 2048) return fallback;
  if (SUSPICIOUS.test(value)) return fallback;

  const origin = new URL(env().APP_URL).origin;
  let path: string;
  if (value.startsWith("/")) path = value;
  else if (value.startsWith(`${origin}/`)) path = value.slice(origin.length);
  else return fallback;
  if (path.startsWith("//") || DOT_SEGMENT.test(path.split(/[?#]/, 1)[0] ?? "")) return fallback;

  let url: URL;
  try {
    url = new URL(path, origin);
  } catch {
    return fallback;
  }
  const result = `${url.pathname}${url.search}${url.hash}`;
  // The parser must not have moved the target off-site or onto a protocol-relative path.
  if (url.origin !== origin || !result.startsWith("/") || result.startsWith("//")) return fallback;
  return result;
}
