import "server-only";
import { eq } from "drizzle-orm";
import type { Database } from "@/db/client";
import { passwordChangeReportTokens } from "@/db/schema";
import { audit } from "../audit";
import { changeCredentials } from "../credential-change";
import type { RequestContext } from "../client-ip";
import type { Schedule } from "../jobs/definition";
import { auditLinkRefusal } from "../link-refusals";
import { consumeToken, lookUpToken, spendUserTokens, type TokenProblem } from "../single-use-tokens";
import { removePasskeysAddedSince } from "../second-factor/passkeys";
import { lockUser } from "../user-lock";
import { reportedResetLinkJob } from "./jobs";

/** Whether a "This wasn't me" link still works, without consuming it. */
export async function inspectReportToken(db: Database, token: string): Promise<{ status: "valid" } | { status: TokenProblem }> {
  const found = await lookUpToken(db, passwordChangeReportTokens, token);
  return found.status === "valid" ? { status: "valid" } : { status: found.status };
}

export type ReportResult = { ok: true } | { ok: false; problem: TokenProblem };

/**
 * "This wasn't me": someone else changed the password. In one transaction every session ends,
 * the password is locked (no password signs in any more) and every passkey added since the
 * reported change is removed; then a fresh reset link goes to the address, so its owner can
 * take the account back.
 */
export async function reportPasswordChange(
  db: Database,
  token: string,
  context: RequestContext,
  schedule: Schedule,
): Promise<ReportResult> {
  // Read first for the user id: the transaction locks the user row before the token's (see lockUser).
  const found = await lookUpToken(db, passwordChangeReportTokens, token);
  if (found.status !== "valid") {
    await auditLinkRefusal(db, "password_change_report", found.status, { ...context, userId: found.userId });
    return { ok: false, problem: found.status };
  }
  const user = await db.transaction(async (tx) => {
    if (!(await lockUser(tx, found.userId))) return null;
    const consumed = await consumeToken(tx, passwordChangeReportTokens, token);
    if (!consumed) return null;
    const changed = await changeCredentials(
      tx,
      db,
      {
        userId: consumed.userId,
        // No password signs in any more; a reset link the intruder may have asked for dies too.
        password: { locked: "reported" },
        event: "password_change.reported",
        reason: "reported",
        // In the transaction: the owner's fresh reset link commits with the lock-out.
        notice: { job: reportedResetLinkJob, payload: (locked, request) => ({ userId: locked.id, email: locked.email, ...request }) },
        ...context,
      },
      schedule,
    );
    if (!changed) return null;
    // A passkey added since the reported change may be the intruder's way back in: it goes too.
    const [report] = await tx
      .select({ version: passwordChangeReportTokens.reportsCredentialsVersion })
      .from(passwordChangeReportTokens)
      .where(eq(passwordChangeReportTokens.id, consumed.id));
    const removed = await removePasskeysAddedSince(tx, changed.userId, report?.version ?? null);
    if (removed > 0) {
      await audit(tx, {
        event: "passkey.removed_by_report",
        userId: changed.userId,
        ...context,
        details: { count: removed, since_version: report?.version ?? null },
      });
    }
    await spendUserTokens(tx, passwordChangeReportTokens, changed.userId);
    return changed;
  });
  if (!user) {
    const now = await lookUpToken(db, passwordChangeReportTokens, token);
    const problem = now.status === "valid" ? "invalid" : now.status;
    await auditLinkRefusal(db, "password_change_report", problem, { ...context, userId: found.userId });
    return { ok: false, problem };
  }
  return { ok: true };
}
