import ipaddr from "ipaddr.js";
import { z } from "zod";
import { env } from "./env";

/**
 * The client's IP for every feature (sessions, limits, audit), normalised (IPv4-mapped IPv6
 * becomes IPv4, IPv6 is compressed), or null when the request carries no usable address.
 *
 * Each of the `hops` trusted proxies in front of the app appends the address it received the
 * request from to X-Forwarded-For, so the client is the `hops`-th entry from the right
 * (default 1: the right-most, written by the one proxy in front; `next start` writes it itself
 * when nothing is in front). Entries further left are client-supplied and can be forged. A
 * request that passed fewer proxies yields the left-most entry, which a trusted proxy wrote.
 */
export function clientIp(headers: Pick<Headers, "get">, hops: number = env().TRUSTED_PROXY_HOPS): string | null {
  // Several X-Forwarded-For headers arrive joined by ", ", in order: one list either way.
  const forwarded = headers.get("x-forwarded-for");
  if (!forwarded) return null;
  // Split by position, empty entries kept: only the `hops` entries on the right were written by
  // trusted proxies, and whatever a client put left of them (empty, spaces, garbage) must neither
  // shift them (a parser that drops empty entries would) nor erase them. proxy-addr's parser
  // drops empty entries, so the walk is done here: the socket Next.js hides stands for the hop
  // into this server, which makes the answer the hops-th entry from the right.
  const entries = forwarded.split(",");
  return normaliseIp(entries[Math.max(0, entries.length - hops)]);
}

/** `value` as a canonical IP address string, or null when it is not one. */
export function normaliseIp(value: string | undefined | null): string | null {
  if (!value) return null;
  const unwrapped = value.trim().replace(/^\[(.*)\]$/, "$1");
  if (!ipaddr.isValid(unwrapped)) return null;
  // isValid also accepts loose IPv4 forms ("1", "0x7f.1"); only the strict four-part form is an address here.
  if (!ipaddr.IPv6.isValid(unwrapped) && !ipaddr.IPv4.isValidFourPartDecimal(unwrapped)) return null;
  return ipaddr.process(unwrapped).toString();
}

/** The key every rate limit counts a client under when the request has no usable IP. */
export const UNKNOWN_CLIENT_KEY = "unknown";

/**
 * The subject every per-IP rate limit counts a client under. An IPv6 client gets a whole /64
 * (one subscriber's prefix: counting single addresses would let it rotate through 2^64 of
 * them); IPv4 counts per address. A request without a usable IP (a deployment that breaks the
 * proxy rule) counts in one shared bucket: the limit then fails closed instead of vanishing.
 */
export function clientKey(ip: string | null): string {
  const address = normaliseIp(ip);
  if (!address) return UNKNOWN_CLIENT_KEY;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === "ipv4") return address;
  const prefix = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...prefix, 0, 0, 0, 0]).toString()}/64`;
}

/** The User-Agent header, cut to a length that is safe to store. */
export function userAgent(headers: Pick<Headers, "get">): string | null {
  const value = headers.get("user-agent");
  return value ? value.slice(0, 512) : null;
}

/** A RequestContext as a zod shape, for the job payloads that carry one. */
export const requestContextShape = { ip: z.string().nullable(), userAgent: z.string().nullable() };

/** Who is asking, as every security feature records it. */
export interface RequestContext {
  ip: string | null;
  userAgent: string | null;
}

/** The client IP and user agent of a request, read the one way every feature reads them. */
export function requestContext(headers: Pick<Headers, "get">): RequestContext {
  return { ip: clientIp(headers), userAgent: userAgent(headers) };
}
