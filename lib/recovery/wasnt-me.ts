import "server-only";
import type { Database } from "@/db/client";
import { passwordChangeReportTokens } from "@/db/schema";
import { changeCredentials } from "../credential-change";
import type { RequestContext } from "../client-ip";
import type { Schedule } from "../jobs/definition";
import { auditLinkRefusal } from "../link-refusals";
import { consumeToken, lookUpToken, spendUserTokens, type TokenProblem } from "../single-use-tokens";
import { lockUser } from "../user-lock";
import { reportedResetLinkJob } from "./jobs";

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
