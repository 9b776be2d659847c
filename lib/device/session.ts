import "server-only";
import type { Database, Transaction } from "@/db/client";
import { issueSignInSession, sessionMaxAgeSeconds } from "../auth/sessions";

// The one place the device flow turns an approval into a bearer session. It has the shape of
// lib/auth/bearer.ts's issueBearerSession (the app sign-in's): switch to that at merge.

/** A device session's token as the token endpoint answers it. */
export interface IssuedDeviceSession {
  accessToken: string;
  /** The idle lifetime in seconds (use moves the expiry forward). */
  expiresIn: number;
  expires: Date;
}

/** Stores a session of kind "device" for the approved credentials; null when they changed since. */
export async function issueDeviceSession(
  db: Database | Transaction,
  grant: {
    userId: string;
    credentialsVersion: number;
    clientName: string;
    ip: string | null;
    userAgent: string | null;
    secondFactor: boolean;
  },
): Promise<IssuedDeviceSession | null> {
  const issued = await issueSignInSession(db as Database, { ...grant, kind: "device" });
  return issued ? { accessToken: issued.sessionToken, expiresIn: sessionMaxAgeSeconds(), expires: issued.expires } : null;
}
