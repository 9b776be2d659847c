import { env } from "../env";
import { isHttpsOrigin } from "../security-headers";

/**
 * The session cookie's name. On https it carries the `__Host-` prefix: browsers then accept
 * it only if Secure, for path "/" and without a Domain, so a sibling subdomain can neither
 * set nor overwrite it (session fixation). Plain http (local development) allows no prefix.
 */
export function sessionCookieName(appUrl: string = env().APP_URL): string {
  return `${isHttpsOrigin(appUrl) ? "__Host-" : ""}authjs.session-token`;
}

/**
 * The cookie that ties a sign-in's pending second step to the browser whose password was
 * right (lib/auth/sign-in.ts). The same `__Host-` rule as the session cookie: a sibling
 * subdomain cannot plant its own pending step in this browser.
 */
export function signInChallengeCookieName(appUrl: string = env().APP_URL): string {
  return `${isHttpsOrigin(appUrl) ? "__Host-" : ""}rekey.sign-in-challenge`;
}

/**
 * The cookie that holds this browser's device tokens, one per account it has signed in to
 * (lib/auth/device-token.ts). The same `__Host-` rule: a sibling subdomain cannot plant one.
 */
export function deviceCookieName(appUrl: string = env().APP_URL): string {
  return `${isHttpsOrigin(appUrl) ? "__Host-" : ""}rekey.device`;
}

/**
 * The cookie that binds a passwordless passkey sign-in's ceremony to the browser that began it
 * (lib/auth/passkey-sign-in.ts): the challenge is stored bound to its hash, so an assertion
 * relayed from another browser cannot finish it. The same `__Host-` rule.
 */
export function passkeyCeremonyCookieName(appUrl: string = env().APP_URL): string {
  return `${isHttpsOrigin(appUrl) ? "__Host-" : ""}rekey.passkey-ceremony`;
}
