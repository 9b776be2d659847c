import "server-only";
import { DrizzleAdapter } from "@auth/drizzle-adapter";
import NextAuth, { CredentialsSignin, type NextAuthConfig } from "next-auth";
import { encode as encodeJwt } from "next-auth/jwt";
import { cookies } from "next/headers";
import Credentials from "next-auth/providers/credentials";
import { getDb } from "@/lib/db";
import { accounts, sessions, users, verificationTokens } from "@/db/schema";
import { requestContext } from "../client-ip";
import { env } from "../env";
import { afterResponse } from "../job-definitions";
import { log } from "../log";
import { isHttpsOrigin } from "../security-headers";
import { LoginSchema } from "../validation/forms";
import { deviceCookieName, sessionCookieName } from "./cookie-names";
import { cookieFromHeader, deviceCookie, deviceCookieAfterSignIn, recogniseDevice } from "./device-token";
import { deleteSessionByToken, findSession, renewSession, SESSION_RENEW_AFTER_SECONDS, sessionMaxAgeSeconds } from "./sessions";
import { checkSignInPassword, issueDeviceSession } from "./sign-in";
import { SignInPasswordResetForced, SignInRateLimited, SignInSecondFactorRequired } from "./sign-in-throttle-error";

declare module "next-auth" {
  interface Session {
    user: { id: string; email: string; name: string | null; emailVerified: string | null };
    /** Public id of this device's session row (for "this device" in the sessions list). */
    sessionId: string;
  }
  interface User {
    /** Carried from authorize() to the session row. */
    requestIp?: string | null;
    requestUserAgent?: string | null;
    /** The credentials version read with the verified hash: the session is stored only for it. */
    credentialsVersion?: number;
    /** The device cookie to set with the session, and whether this browser had signed in to the account before. */
    deviceCookie?: string;
    recognisedDevice?: boolean;
  }
}

async function buildConfig(): Promise<NextAuthConfig> {
  const config = env();
  const db = await getDb();
  // Auth.js builds its own URLs from the Host / X-Forwarded-Host headers unless AUTH_URL is
  // set; pinning it to APP_URL means a forged Host can never steer a redirect.
  process.env.AUTH_URL = config.APP_URL;

  const baseAdapter = DrizzleAdapter(db, {
    usersTable: users,
    accountsTable: accounts,
    sessionsTable: sessions,
    verificationTokensTable: verificationTokens,
  });

  return {
    secret: config.AUTH_SECRET,
    trustHost: true,
    useSecureCookies: isHttpsOrigin(config.APP_URL),
    // The same name and options as sessionCookie(), which sets this cookie outside Auth.js.
    cookies: {
      sessionToken: {
        name: sessionCookieName(config.APP_URL),
        options: { httpOnly: true, sameSite: "lax", path: "/", secure: isHttpsOrigin(config.APP_URL) },
      },
    },
    pages: { signIn: "/login", error: "/login" },
    session: { maxAge: sessionMaxAgeSeconds(), updateAge: SESSION_RENEW_AFTER_SECONDS },
    // The strategy is left unset: with an adapter it is "database", which Auth.js refuses to
    // combine with Credentials when written explicitly. Session methods are ours so that only
    // the token's hash is stored and the user's password hash never leaves the database layer.
    adapter: {
      ...baseAdapter,
      async createSession(data) {
        throw new Error(`sessions are created by jwt.encode (user ${data.userId})`);
      },
      async getSessionAndUser(sessionToken) {
        const found = await findSession(db, sessionToken);
        if (!found) return null;
        return {
          session: found.session,
          user: { ...found.user, emailVerified: found.user.emailVerified },
        };
      },
      // Auth.js asks once its updateAge has passed; renewSession applies the same rule and
      // also caps the expiry at the absolute lifetime, which Auth.js knows nothing of.
      async updateSession(data) {
        await renewSession(db, data.sessionToken);
        return null;
      },
      async deleteSession(sessionToken) {
        await deleteSessionByToken(db, sessionToken);
      },
    },
    providers: [
      Credentials({
        credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
        async authorize(raw, request) {
          const parsed = LoginSchema.safeParse(raw);
          if (!parsed.success) return null;
          const { ip, userAgent: ua } = requestContext(request.headers);
          // The same on the login page (signIn() passes the browser's headers) and on Auth.js's own callback URL.
          const devices = cookieFromHeader(request.headers.get("cookie"), deviceCookieName());
          const device = recogniseDevice(devices, parsed.data.email);
          const result = await checkSignInPassword(
            db,
            { email: parsed.data.email, password: parsed.data.password, device, ip, userAgent: ua },
            afterResponse,
          );
          // Never a session for an account with a second factor, whatever the step returned.
          if (result.ok) {
            if (result.user.twoFactor) return null;
            const deviceCookie = deviceCookieAfterSignIn(devices, parsed.data.email, device);
            return { ...result.user, requestIp: ip, requestUserAgent: ua, deviceCookie, recognisedDevice: device !== null };
          }
          // The password was right but the account has a second factor: no user is returned,
          // so Auth.js never reaches jwt.encode and no session exists (on its own callback URL too).
          if (result.code === "SECOND_FACTOR_REQUIRED") throw new SignInSecondFactorRequired(result.challenge.token);
          if (result.code === "RATE_LIMITED") throw new SignInRateLimited();
          if (result.code === "PASSWORD_RESET_FORCED") throw new SignInPasswordResetForced();
          return null;
        },
      }),
    ],
    callbacks: {
      jwt({ token, user, account }) {
        if (account?.provider === "credentials" && user) {
          token.credentials = true;
          token.requestIp = user.requestIp ?? null;
          token.requestUserAgent = user.requestUserAgent ?? null;
          token.credentialsVersion = user.credentialsVersion;
          token.deviceCookie = user.deviceCookie;
          token.recognisedDevice = user.recognisedDevice ?? false;
        }
        return token;
      },
      session({ session, user }) {
        const row = session as unknown as { id: string; expires: Date };
        return {
          expires: session.expires,
          sessionId: row.id,
          user: {
            id: user.id,
            email: user.email,
            name: user.name ?? null,
            emailVerified: user.emailVerified ? new Date(user.emailVerified).toISOString() : null,
          },
        } as unknown as typeof session;
      },
    },
    jwt: {
      // Credentials sign-in always goes through jwt.encode; here it creates the database
      // session instead, and its opaque token becomes the cookie.
      async encode(params) {
        const token = params.token;
        if (token?.credentials && typeof token.sub === "string") {
          if (typeof token.credentialsVersion !== "number") throw new Error("credentials sign-in without a credentials version");
          const grant = {
            userId: token.sub,
            credentialsVersion: token.credentialsVersion,
            ip: (token.requestIp as string | null) ?? null,
            userAgent: (token.requestUserAgent as string | null) ?? null,
          };
          const created = await issueDeviceSession(db, grant, token.recognisedDevice === true, afterResponse);
          // The password was changed (reset, change, "This wasn't me") while it was being
          // checked: it no longer signs in, so the answer is exactly a wrong password's.
          if (!created) throw new CredentialsSignin();
          // This browser has now signed in to the account: past the address's limit it may still
          // try it. Set through Next's cookies(), which both the login action and Auth.js's own
          // callback route merge into their response.
          if (typeof token.deviceCookie === "string") {
            const cookie = deviceCookie(token.deviceCookie);
            (await cookies()).set(cookie.name, cookie.value, cookie.options);
          }
          return created.sessionToken;
        }
        return encodeJwt(params);
      },
    },
    logger: {
      // Auth.js logs CredentialsSignin as an error with a stack; a wrong password is expected.
      error(error) {
        // `type`, not `name`: class names are minified in production builds.
        const type = (error as { type?: string }).type ?? error.name;
        if (type === "CredentialsSignin") return;
        log("error", "auth.error", { type }, error);
      },
      warn(code) {
        log("warn", "auth.warn", { code });
      },
    },
  };
}

export const { auth, handlers, signIn, signOut } = NextAuth(buildConfig);
