import "server-only";
import { sql } from "drizzle-orm";
import { queryRows, type Database } from "@/db/client";
import { passwordResetTokens, users } from "@/db/schema";
import { changeCredentials, CHANGE_OUTCOME, credentialChangeSql, noteCredentialChange, type ChangeOutcomeRow } from "../credential-change";
import { passwordChangedNotice } from "../accounts/password-changed-notice";
import type { RequestContext } from "../client-ip";
import type { Schedule } from "../jobs/definition";
import { auditLinkRefusal } from "../link-refusals";
import { hashNewPassword, passwordPolicyErrors } from "../password-hashing";
import {
  checkSecondFactor,
  countSecondFactorAttempt,
  recordRecoveryCodeUse,
  settleAttempt,
  type CodeRefusal,
  type SecondFactorInput,
} from "../second-factor/check";
import { hasTwoFactor } from "../second-factor/enrolment";
import { consumeToken, consumeTokenSql, lookUpTokenAndUser, type TokenProblem } from "../single-use-tokens";
import { isWellFormedToken } from "../tokens";
import { traced } from "../tracing";
import { lockUserSql } from "../user-lock";
import { maskEmail } from "../validation/fields";

export type { TokenProblem };

export type InspectResult =
  { status: "valid"; maskedEmail: string; expiresAt: Date; secondFactorRequired: boolean } | { status: TokenProblem };

/**
 * What a reset link is, without consuming it: GET and HEAD (and mail scanners) land here.
 * `secondFactorRequired`: the reset will also ask for an authentication or recovery code.
 */
async function inspectResetTokenUntraced(db: Database, token: string): Promise<InspectResult> {
  const found = await findToken(db, token);
  if (found.status !== "valid") return { status: found.status };
  return { status: "valid", maskedEmail: maskEmail(found.email), expiresAt: found.expiresAt, secondFactorRequired: found.twoFactor };
}

type FoundToken =
  | { status: "valid"; tokenId: string; userId: string; email: string; passwordHash: string | null; twoFactor: boolean; expiresAt: Date }
  | { status: TokenProblem; userId?: string };

async function findToken(db: Database, token: string): Promise<FoundToken> {
  const { lookup, user } = await lookUpTokenAndUser(db, passwordResetTokens, token);
  if (lookup.status !== "valid") return lookup;
  if (!user) return { status: "invalid" };
  return {
    status: "valid",
    tokenId: lookup.id,
    userId: lookup.userId,
    email: user.email,
    passwordHash: user.passwordHash,
    twoFactor: user.twoFactor,
    expiresAt: lookup.expiresAt,
  };
}

export type ResetPasswordResult =
  | { ok: true }
  /** The link does not work (invalid, expired or used): the page and the API say which. */
  | { ok: false; code: "TOKEN_PROBLEM"; problem: TokenProblem }
  | { ok: false; code: "PASSWORD_REJECTED"; passwordErrors: string[] }
  /** The account has two-factor authentication on and no code came with the password. */
  | { ok: false; code: "SECOND_FACTOR_REQUIRED" }
  /** A wrong or already used code (INVALID_CODE), or past the account's code budget (RATE_LIMITED). */
  | CodeRefusal;

/** Thrown inside the reset's transaction to roll back the token it consumed, carrying the answer. */
class RollBack extends Error {
  constructor(readonly result: ResetPasswordResult) {
    super("reset rolled back");
  }
}

const hasSecondFactorInput = (input: SecondFactorInput): boolean => Boolean(input.otp?.trim() || input.recoveryCode?.trim());

/** Records a reset link that did not work (page view, submission or API check), throttled per client IP. */
export async function auditTokenProblem(db: Database, problem: TokenProblem, context: RequestContext & { userId?: string }): Promise<void> {
  await auditLinkRefusal(db, "password_reset", problem, context);
}

/**
 * Sets a new password with a reset token. A rejected password leaves the token valid. The
 * token is consumed by a conditional update inside the transaction, so of two concurrent
 * submissions exactly one wins; the winner's transaction also ends every session of the user.
 *
 * For an account with two-factor authentication on, the mailbox alone is not enough: an
 * authentication code (`otp`) or a recovery code must come with the password. The token is
 * consumed only when both are accepted; a missing code changes nothing and counts nothing, a
 * wrong one rolls the consumption back and stays counted against the account's code budget.
 */
async function resetPasswordUntraced(
  db: Database,
  input: { token: string; password: string } & SecondFactorInput & RequestContext,
  schedule: Schedule,
): Promise<ResetPasswordResult> {
  const found = await findToken(db, input.token);
  if (found.status !== "valid") {
    await auditTokenProblem(db, found.status, { ...input, userId: found.userId });
    return { ok: false, code: "TOKEN_PROBLEM", problem: found.status };
  }
  // Asked before anything is hashed or counted; asked again under the user's lock in the
  // transaction, so a second factor turned on meanwhile is still required.
  const secondFactor = found.twoFactor;
  if (secondFactor && !hasSecondFactorInput(input)) return { ok: false, code: "SECOND_FACTOR_REQUIRED" };

  // The policy, the "different from your current password" check and the new hash side by side:
  // one argon2 run's wait, not two. A rejected password only wasted its hash (and, with two
  // factors, spent no code: the code is checked only once the password is accepted).
  // Hashed before the transaction so that row locks are held for milliseconds, not an argon2 run.
  const [passwordErrors, hashed] = await Promise.all([
    passwordPolicyErrors(input.password),
    hashNewPassword(found.passwordHash, input.password),
  ]);
  if (hashed.sameAsCurrent) passwordErrors.push("Choose a password different from your current one.");
  if (passwordErrors.length > 0) return { ok: false, code: "PASSWORD_REJECTED", passwordErrors };

  // Counted before the code is checked and outside the transaction (PGlite has one connection):
  // parallel guesses cannot pass the budget, and the count outlives a wrong code's rollback.
  if (secondFactor) {
    const budget = await countSecondFactorAttempt(db, found.userId, input);
    if (!budget.ok) return budget;
  }
  const change = { ...input, userId: found.userId, tokenId: found.tokenId, passwordHash: hashed.hash };
  const outcome = secondFactor ? await consumeAndChange(db, change, schedule) : await consumeAndChangeAtOnce(db, change, schedule);
  // A right code (or one never checked because the token was gone) gives its attempt back.
  if (secondFactor) await settleAttempt(db, found.userId, outcome ?? { ok: false }, input);
  if (outcome) return outcome;

  // Lost a race (or expired a moment ago): say which, from the row as it is now.
  const now = await findToken(db, input.token);
  const problem: TokenProblem = now.status === "valid" ? "used" : now.status;
  await auditTokenProblem(db, problem, { ...input, userId: found.userId });
  return { ok: false, code: "TOKEN_PROBLEM", problem };
}

/** The reset's credential change: the new password, and the owner's "your password was changed" email. */
function resetChange(input: { userId: string; tokenId: string; passwordHash: string } & RequestContext) {
  return {
    userId: input.userId,
    password: { hash: input.passwordHash, confirmsEmail: true },
    event: "password_reset.completed",
    reason: "password_reset",
    details: { token_id: input.tokenId },
    notice: passwordChangedNotice,
    ip: input.ip,
    userAgent: input.userAgent,
  } as const;
}

/**
 * The whole reset of an account without a second factor in ONE statement, atomic without a
 * transaction: the user row locked first (the lock order every credential change keeps), the
 * token consumed only while that account still has no second factor, then the credential
 * change. Null when the token was no longer there to consume; SECOND_FACTOR_REQUIRED when a
 * second factor was turned on since the link was looked up (nothing changes then).
 */
export async function consumeAndChangeAtOnce(
  db: Database,
  input: { token: string; userId: string; tokenId: string; passwordHash: string } & RequestContext,
  schedule: Schedule,
): Promise<ResetPasswordResult | null> {
  if (!isWellFormedToken(input.token)) return null;
  const change = resetChange(input);
  const [row] = await queryRows<ChangeOutcomeRow & { two_factor: boolean | null }>(
    db,
    sql`with owner as (
        select ${users.id} as id, ${users.twoFactorEnabledAt} is not null as two_factor from ${users}
        where ${users.id} = ${input.userId} for no key update),
      consumed as (${consumeTokenSql(passwordResetTokens, input.token, sql`(select id from owner where not two_factor)`)}),
      ${credentialChangeSql(change, sql`exists (select 1 from consumed)`)}
      select ${CHANGE_OUTCOME}, (select two_factor from owner) as two_factor`,
  );
  if (noteCredentialChange(db, row, change, schedule)) return { ok: true };
  if (row?.two_factor) return { ok: false, code: "SECOND_FACTOR_REQUIRED" };
  return null;
}

/**
 * The reset's transaction for an account with a second factor: consume the token, check the
 * code, then the credential change. Null when the token was no longer there to consume; a
 * refused code rolls everything back, the token's consumption with it, so the link still works.
 */
async function consumeAndChange(
  db: Database,
  input: { token: string; userId: string; tokenId: string; passwordHash: string } & SecondFactorInput & RequestContext,
  schedule: Schedule,
): Promise<ResetPasswordResult | null> {
  try {
    return await db.transaction(async (tx) => {
      // The user row first, as every credential change does (see lockUser), then the token: one
      // statement, the lock taken by its init plan before the token row is touched. No deadlocks.
      const consumed = await consumeToken(tx, passwordResetTokens, input.token, lockUserSql(input.userId));
      if (!consumed) return null;

      // Checked (and spent) in the transaction that consumes the token: a wrong code rolls the
      // token back; a right one is spent only together with the change. (An account whose
      // second factor was turned off meanwhile is checked against none.)
      let recoveryCodesLeft: number | undefined;
      if (await hasTwoFactor(tx, consumed.userId)) {
        const checked = await checkSecondFactor(tx, consumed.userId, input);
        if (!checked.ok)
          throw new RollBack({ ok: false, code: checked.code === "NOT_ENABLED" ? "SECOND_FACTOR_REQUIRED" : "INVALID_CODE" });
        if (checked.method === "recovery_code") recoveryCodesLeft = checked.recoveryCodesLeft ?? 0;
      }

      if (!(await changeCredentials(tx, db, resetChange(input), schedule))) throw new Error("reset token points at a missing user");
      if (recoveryCodesLeft !== undefined) {
        await recordRecoveryCodeUse(db, tx, schedule, {
          userId: consumed.userId,
          recoveryCodesLeft,
          ip: input.ip,
          userAgent: input.userAgent,
        });
      }
      return { ok: true } as const;
    });
  } catch (error) {
    if (error instanceof RollBack) return error.result;
    throw error;
  }
}

// Each step of the reset flow is a span when tracing is on (instrumentation.ts).
export const inspectResetToken = traced("password_reset.inspect_token", inspectResetTokenUntraced);
export const resetPassword = traced("password_reset.complete", resetPasswordUntraced);
