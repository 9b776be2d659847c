import "server-only";
import { and, asc, count, eq, gte, sql } from "drizzle-orm";
import type { Database, Transaction } from "@/db/client";
import { passkeys, users } from "@/db/schema";
import { audit } from "../audit";
import type { RequestContext } from "../client-ip";
import type { Schedule } from "../jobs/definition";
import { lockUser } from "../user-lock";
import { enqueuePasskeyNotice } from "./passkey-notify";

/** What a page or the API shows of a passkey: never its key material. */
export interface PasskeySummary {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  /** "singleDevice" (device-bound) or "multiDevice" (synced); null when the authenticator did not say. */
  deviceType: string | null;
  backedUp: boolean | null;
}

const summaryColumns = {
  id: passkeys.id,
  name: passkeys.name,
  createdAt: passkeys.createdAt,
  lastUsedAt: passkeys.lastUsedAt,
  deviceType: passkeys.deviceType,
  backedUp: passkeys.backedUp,
};

/** The user's passkeys, oldest first. */
export async function listPasskeys(db: Database | Transaction, userId: string): Promise<PasskeySummary[]> {
  return db.select(summaryColumns).from(passkeys).where(eq(passkeys.userId, userId)).orderBy(asc(passkeys.createdAt), asc(passkeys.id));
}

/** True when the user has at least one passkey (then it counts as a second factor). */
export async function hasPasskeys(db: Database | Transaction, userId: string): Promise<boolean> {
  const [row] = await db.select({ n: count() }).from(passkeys).where(eq(passkeys.userId, userId));
  return (row?.n ?? 0) > 0;
}

export type PasskeyChangeResult = { ok: true; passkey: PasskeySummary } | { ok: false; code: "NOT_FOUND" };

/** Renames one of the user's passkeys (the name is already validated: PasskeyNameSchema); audited. */
export async function renamePasskey(
  db: Database,
  input: { userId: string; passkeyId: string; name: string } & RequestContext,
): Promise<PasskeyChangeResult> {
  return db.transaction(async (tx): Promise<PasskeyChangeResult> => {
    const [row] = await tx
      .update(passkeys)
      .set({ name: input.name })
      .where(and(eq(passkeys.id, input.passkeyId), eq(passkeys.userId, input.userId)))
      .returning(summaryColumns);
    if (!row) return { ok: false, code: "NOT_FOUND" };
    await audit(tx, {
      event: "passkey.renamed",
      userId: input.userId,
      ip: input.ip,
      userAgent: input.userAgent,
      details: { passkey_id: row.id },
    });
    return { ok: true, passkey: row };
  });
}

/**
 * Removes one of the user's passkeys; the audit row and the owner's email job commit with it.
 * The caller has checked "Confirm it's you".
 */
export async function removePasskey(
  db: Database,
  schedule: Schedule,
  input: { userId: string; passkeyId: string } & RequestContext,
): Promise<PasskeyChangeResult> {
  return db.transaction(async (tx): Promise<PasskeyChangeResult> => {
    if (!(await lockUser(tx, input.userId))) return { ok: false, code: "NOT_FOUND" };
    const [row] = await tx
      .delete(passkeys)
      .where(and(eq(passkeys.id, input.passkeyId), eq(passkeys.userId, input.userId)))
      .returning(summaryColumns);
    if (!row) return { ok: false, code: "NOT_FOUND" };
    const [user] = await tx.select({ email: users.email, version: users.credentialsVersion }).from(users).where(eq(users.id, input.userId));
    await audit(tx, {
      event: "passkey.removed",
      userId: input.userId,
      ip: input.ip,
      userAgent: input.userAgent,
      details: { passkey_id: row.id },
    });
    await enqueuePasskeyNotice(db, tx, schedule, {
      userId: input.userId,
      email: user!.email,
      change: "removed",
      name: row.name,
      credentialsVersion: user!.version,
      ip: input.ip,
      userAgent: input.userAgent,
    });
    return { ok: true, passkey: row };
  });
}

/**
 * Removes every passkey of the user (the sessions page after a reset or "This wasn't me");
 * audited and emailed in one transaction. Returns how many there were; none: no email.
 */
export async function removeAllPasskeys(
  db: Database,
  schedule: Schedule,
  input: { userId: string } & RequestContext,
): Promise<{ removed: number }> {
  return db.transaction(async (tx) => {
    if (!(await lockUser(tx, input.userId))) return { removed: 0 };
    const removed = await tx.delete(passkeys).where(eq(passkeys.userId, input.userId)).returning({ id: passkeys.id });
    if (removed.length === 0) return { removed: 0 };
    const [user] = await tx.select({ email: users.email, version: users.credentialsVersion }).from(users).where(eq(users.id, input.userId));
    await audit(tx, {
      event: "passkey.all_removed",
      userId: input.userId,
      ip: input.ip,
      userAgent: input.userAgent,
      details: { count: removed.length, reason: "owner" },
    });
    await enqueuePasskeyNotice(db, tx, schedule, {
      userId: input.userId,
      email: user!.email,
      change: "removed_all",
      count: removed.length,
      credentialsVersion: user!.version,
      ip: input.ip,
      userAgent: input.userAgent,
    });
    return { removed: removed.length };
  });
}

/**
 * "This wasn't me", inside its transaction: removes every passkey added at `credentialsVersion`
 * or later (null: a link older than passkeys, every passkey). Returns how many.
 */
export async function removePasskeysAddedSince(tx: Transaction, userId: string, credentialsVersion: number | null): Promise<number> {
  const since = credentialsVersion === null ? sql`true` : gte(passkeys.addedCredentialsVersion, credentialsVersion);
  const removed = await tx
    .delete(passkeys)
    .where(and(eq(passkeys.userId, userId), since))
    .returning({ id: passkeys.id });
  return removed.length;
}
