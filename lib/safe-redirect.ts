import { env } from "./env";

/**
 * A same-origin path to send the user to after sign-in, or `fallback`. Absolute URLs to
 * other origins, protocol-relative `//host` and backslash tricks are all refused.
 */
export function safeCallbackPath(value: unknown, fallback = "/account"): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 2048) return fallback;
  const origin = env().APP_URL;
  let url: URL;
  try {
    url = new URL(value, origin);
  } catch {
    return fallback;
  }
  if (url.origin !== new URL(origin).origin) return fallback;
  if (!value.startsWith("/") && !value.startsWith(origin)) return fallback;
  if (/^\/[\\/]/.test(value)) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}
