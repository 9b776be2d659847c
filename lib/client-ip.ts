import { isIP } from "node:net";

/**
 * The client's IP for every feature (sessions, limits, audit): the right-most X-Forwarded-For
 * entry, the one written by the nearest proxy (Vercel, nginx, or `next start` itself when
 * nothing is in front). Entries further left are client-supplied and can be forged.
 * Deployment rule: run behind exactly one proxy that appends the peer address.
 */
export function clientIp(headers: Pick<Headers, "get">): string | null {
  const forwarded = headers.get("x-forwarded-for");
  if (!forwarded) return null;
  const last = forwarded.split(",").at(-1)?.trim() ?? "";
  const unwrapped = last.replace(/^\[(.*)\]$/, "$1").replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1");
  return isIP(unwrapped) ? unwrapped : null;
}

/** The User-Agent header, cut to a length that is safe to store. */
export function userAgent(headers: Pick<Headers, "get">): string | null {
  const value = headers.get("user-agent");
  return value ? value.slice(0, 512) : null;
}

/** Who is asking, as every security feature records it. */
export interface RequestContext {
  ip: string | null;
  userAgent: string | null;
}

/** The client IP and user agent of a request, read the one way every feature reads them. */
export function requestContext(headers: Pick<Headers, "get">): RequestContext {
  return { ip: clientIp(headers), userAgent: userAgent(headers) };
}
