import { UAParser } from "ua-parser-js";

/** "Chrome 156 on Linux" from a User-Agent header; "an unknown browser" when there is none. */
export function describeUserAgent(userAgent: string | null | undefined): string {
  if (!userAgent) return "an unknown browser";
  const { browser, os } = UAParser(userAgent);
  const name = browser.name ? `${browser.name}${browser.major ? ` ${browser.major}` : ""}` : "An unknown browser";
  const system = os.name ? ` on ${os.name}${os.version ? ` ${os.version}` : ""}` : "";
  return `${name}${system}`;
}
