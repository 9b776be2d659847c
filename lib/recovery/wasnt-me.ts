import "server-only";
import { eq, sql } from "drizzle-orm";
import type { Database } from "@/db/client";
import { passwordChangeReportTokens, passwordResetTokens, users } from "@/db/schema";
import { audit } from "../audit";
import { deleteUserSessions, nextCredentialsVersion } from "../auth/sessions";
import { enqueueJob } from "../jobs/queue";
import type { RequestContext, Schedule } from "./password-reset";
import { consumeToken, lookUpToken, spendUserTokens, type TokenProblem } from "../single-use-tokens";
import { lockUser } from "../user-lock";

/** Whether a "This wasn't me" link still works, without consuming it. */
export async function inspectReportToken(db: Database, token: string): Promise<{ status: "valid" } | { status: TokenProblem }> {
  const found = await lookUpToken(db, passwordChangeReportTokens, token);
  return found.status === "valid" ? { status: "valid" } : { status: found.status };
}

export type ReportResult = { ok: true } | { ok: false; problem: TokenProblem };

/**
 * "This wasn't me": someone else changed the password. In one transaction every session ends
 * and the password is locked (no password signs in any more); then a fresh reset link goes
 * to the address, so its owner can take the account back.
 */
export async function reportPasswordChange(db: Database, token: string, context: RequestContext, schedule: Schedule): Promise<ReportResult> {
  // Read first for the user id: the transaction locks the user row before the token's (see lockUser).
  const found = await lookUpToken(db, passwordChangeReportTokens, token);
  if (found.status !== "valid") return { ok: false, problem: found.status };
  const user = await db.transaction(async (tx) => {
    if (!(await lockUser(tx, found.userId))) return null;
    const consumed = await consumeToken(tx, passwordChangeReportTokens, token);
    if (!consumed) return null;
    const [locked] = await tx
      .update(users)
      .set({ passwordHash: null, passwordChangedAt: sql`now()`, credentialsVersion: nextCredentialsVersion() })
      .where(eq(users.id, consumed.userId))
      .returning({ id: users.id, email: users.email });
    if (!locked) return null;
    const revoked = await deleteUserSessions(tx, locked.id);
    await spendUserTokens(tx, passwordChangeReportTokens, locked.id);
    // A reset link the intruder may have asked for dies too; the owner gets a new one.
    await spendUserTokens(tx, passwordResetTokens, locked.id);
    await audit(tx, { event: "password_change.reported", userId: locked.id, ip: context.ip, userAgent: context.userAgent });
    await audit(tx, { event: "sessions.revoked", userId: locked.id, ip: context.ip, userAgent: context.userAgent, details: { count: revoked, reason: "reported" } });
    // In the transaction: the owner's fresh reset link commits with the lock-out.
    await enqueueJob(db, "password_change.report_reset", { userId: locked.id, email: locked.email, ip: context.ip, userAgent: context.userAgent }, schedule, tx);
    return locked;
  });
  if (!user) {
    const now = await lookUpToken(db, passwordChangeReportTokens, token);
    return { ok: false, problem: now.status === "valid" ? "invalid" : now.status };
  }
  return { ok: true };
}
