import "server-only";
import { and, eq } from "drizzle-orm";
import type { Database } from "@/db/client";
import { emailChangeUndoTokens, users } from "@/db/schema";
import { changeCredentials } from "../credential-change";
import type { RequestContext } from "../client-ip";
import type { Schedule } from "../jobs/definition";
import { auditLinkRefusal } from "../link-refusals";
import { reportedResetLinkJob } from "../recovery/jobs";
import { consumeToken, lookUpToken, spendUserTokens, type TokenProblem } from "../single-use-tokens";
import { emailFingerprint } from "../tokens";
import { lockUser } from "../user-lock";
import { maskEmail } from "../validation/fields";
import { isUniqueViolation } from "./unique-violation";

/** What an undo link is, without consuming it: the address it puts back, masked. */
export async function inspectEmailChangeUndoToken(
  db: Database,
  token: string,
): Promise<{ status: "valid"; maskedEmail: string } | { status: TokenProblem }> {
  const found = await lookUpToken(db, emailChangeUndoTokens, token);
  if (found.status !== "valid") return { status: found.status };
  const [row] = await db
    .select({ oldEmail: emailChangeUndoTokens.oldEmail })
    .from(emailChangeUndoTokens)
    .where(eq(emailChangeUndoTokens.id, found.id));
  return row ? { status: "valid", maskedEmail: maskEmail(row.oldEmail) } : { status: "invalid" };
}

export type UndoEmailChangeResult =
  { ok: true } | { ok: false; code: "TOKEN_PROBLEM"; problem: TokenProblem } | { ok: false; code: "ADDRESS_TAKEN" };

class Superseded extends Error {}

/**
 * "This wasn't me" for an email change: in one transaction the old address comes back (only
 * while the account still has the address the change set), the password is locked, every
 * session and link ends; then a fresh reset link goes to the old address.
 */
export async function undoEmailChange(
  db: Database,
  token: string,
  context: RequestContext,
  schedule: Schedule,
): Promise<UndoEmailChangeResult> {
  const found = await lookUpToken(db, emailChangeUndoTokens, token);
  if (found.status !== "valid") {
    await auditLinkRefusal(db, "email_change", found.status, { ...context, userId: found.userId });
    return { ok: false, code: "TOKEN_PROBLEM", problem: found.status };
  }
  try {
    await db.transaction(async (tx) => {
      if (!(await lockUser(tx, found.userId))) throw new Superseded();
      if (!(await consumeToken(tx, emailChangeUndoTokens, token))) throw new Superseded();
      const [link] = await tx
        .select({ oldEmail: emailChangeUndoTokens.oldEmail, newEmail: emailChangeUndoTokens.newEmail })
        .from(emailChangeUndoTokens)
        .where(eq(emailChangeUndoTokens.id, found.id));
      if (!link) throw new Superseded();
      const [restored] = await tx
        .update(users)
        .set({ email: link.oldEmail })
        .where(and(eq(users.id, found.userId), eq(users.email, link.newEmail)))
        .returning({ id: users.id });
      if (!restored) throw new Superseded();
      const changed = await changeCredentials(
        tx,
        db,
        {
          userId: found.userId,
          password: { locked: "reported" },
          event: "email_change.undone",
          reason: "reported",
          details: { new_email: emailFingerprint(link.newEmail), old_email: emailFingerprint(link.oldEmail) },
          // In the transaction: the reset link to the restored address commits with it.
          notice: { job: reportedResetLinkJob, payload: (user, request) => ({ userId: user.id, email: user.email, ...request }) },
          ...context,
        },
        schedule,
      );
      if (!changed) throw new Superseded();
      await spendUserTokens(tx, emailChangeUndoTokens, found.userId);
    });
    return { ok: true };
  } catch (error) {
    if (isUniqueViolation(error)) return { ok: false, code: "ADDRESS_TAKEN" };
    if (!(error instanceof Superseded)) throw error;
    const now = await lookUpToken(db, emailChangeUndoTokens, token);
    const problem: TokenProblem = now.status === "valid" ? "invalid" : now.status;
    await auditLinkRefusal(db, "email_change", problem, { ...context, userId: found.userId });
    return { ok: false, code: "TOKEN_PROBLEM", problem };
  }
}
