import "server-only";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/server";
import { queryRows, type Database, type Transaction } from "@/db/client";
import { passwordResetTokens, users } from "@/db/schema";
import { changeCredentials, CHANGE_OUTCOME, credentialChangeSql, noteCredentialChange, type ChangeOutcomeRow } from "../credential-change";
import { passwordChangedNotice } from "../accounts/password-changed-notice";
import { audit } from "../audit";
import type { RequestContext } from "../client-ip";
import type { Schedule } from "../jobs/definition";
import { env } from "../env";
import { auditLinkRefusal } from "../link-refusals";
import { hashNewPassword, passwordPolicyErrors } from "../password-hashing";
import { consumeRateLimit, type RateLimit } from "../rate-limit";
import {
  checkSecondFactor,
  countSecondFactorAttempt,
  recordRecoveryCodeUse,
  settleAttempt,
  type CodeRefusal,
  type SecondFactorInput,
} from "../second-factor/check";
import { beginPasskeyAuthentication } from "../second-factor/passkey-ceremony";
import { checkPasskey, type PasskeyInput } from "../second-factor/passkey-factor";
import { hasSecondFactor, hasSecondFactorSql, secondFactorsOf, type SecondFactors } from "../second-factor/second-factors";
import { consumeToken, consumeTokenSql, lookUpTokenAndUser, type TokenProblem } from "../single-use-tokens";
import { isWellFormedToken } from "../tokens";
import { traced } from "../tracing";
import { lockUserSql } from "../user-lock";
import { maskEmail } from "../validation/fields";

export type { TokenProblem };

export type InspectResult =
  | { status: "valid"; maskedEmail: string; expiresAt: Date; secondFactorRequired: boolean; secondFactors: SecondFactors }
  | { status: TokenProblem };

/**
 * What a reset link is, without consuming it: GET and HEAD (and mail scanners) land here.
 * `secondFactorRequired`: the reset will also ask for a passkey, an authentication or a recovery
 * code (`secondFactors` says which the account has).
 */
async function inspectResetTokenUntraced(db: Database, token: string): Promise<InspectResult> {
  const found = await findToken(db, token);
  if (found.status !== "valid") return { status: found.status };
  const secondFactors = found.twoFactor ? await secondFactorsOf(db, found.userId) : { totp: false, passkey: false };
  return {
    status: "valid",
    maskedEmail: maskEmail(found.email),
    expiresAt: found.expiresAt,
    secondFactorRequired: found.twoFactor,
    secondFactors,
  };
}

/** The passkey request options for a reset link of an account with passkeys, bound to the link; null when it does not work. */
export async function beginPasskeyReset(db: Database, token: string): Promise<PublicKeyCredentialRequestOptionsJSON | null> {
  const found = await findToken(db, token);
  if (found.status !== "valid" || !found.twoFactor) return null;
  return beginPasskeyAuthentication(db, { purpose: "reset", userId: found.userId, binding: token });
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
  /**
   * Two-factor accounts: this link's attempts are used up (RESET_LINK_ATTEMPTS); the one that
   * reached the limit also spent the link. Nothing about the attempt is said: ask for a new link.
   */
  | { ok: false; code: "TOO_MANY_ATTEMPTS" }
  /** A wrong or already used code (INVALID_CODE), or past the account's code budget (RATE_LIMITED). */
  | CodeRefusal;

/** Attempts (with a code) one reset link of a two-factor account allows before it is spent. */
export const RESET_LINK_ATTEMPTS = 5;

/** The per-link attempt count: kept for at least as long as a link lives. */
export const resetLinkLimit = (): RateLimit => ({
  name: "reset-link",
  max: RESET_LINK_ATTEMPTS,
  windowSeconds: env().RESET_TOKEN_TTL_MINUTES * 60,
});

/** Thrown inside the reset's transaction to roll back the token it consumed, carrying the answer. */
class RollBack extends Error {
  constructor(readonly result: ResetPasswordResult) {
    super("reset rolled back");
  }
}

const hasSecondFactorInput = (input: SecondFactorInput & PasskeyInput): boolean =>
  Boolean(input.otp?.trim() || input.recoveryCode?.trim() || input.passkey !== undefined);

/** Records a reset link that did not work (page view, submission or API check), throttled per client IP. */
export async function auditTokenProblem(db: Database, problem: TokenProblem, context: RequestContext & { userId?: string }): Promise<void> {
  await auditLinkRefusal(db, "password_reset", problem, context);
}

/**
 * Sets a new password with a reset token. A rejected password leaves the token valid. The
 * token is consumed by a conditional update inside the transaction, so of two concurrent
 * submissions exactly one wins; the winner's transaction also ends every session of the user.
 *
 * For an account with a second factor (two-factor or a passkey), the mailbox alone is not enough:
 * an authentication code (`otp`), a recovery code or a passkey's assertion must come with the password. A missing code
 * changes nothing and counts nothing. Otherwise the attempt is counted against the link
 * (RESET_LINK_ATTEMPTS, then the link is spent) and against the account's code budget, and
 * the code is checked first: nothing about the current or the new password is compared or
 * answered before it passes, so a wrong code says nothing about a guessed password.
 */
async function resetPasswordUntraced(
  db: Database,
  input: { token: string; password: string } & SecondFactorInput & PasskeyInput & RequestContext,
  schedule: Schedule,
): Promise<ResetPasswordResult> {
  const found = await findToken(db, input.token);
  if (found.status !== "valid") {
    await auditTokenProblem(db, found.status, { ...input, userId: found.userId });
    return { ok: false, code: "TOKEN_PROBLEM", problem: found.status };
  }
  // Asked before anything is hashed or counted; asked again under the user's lock in the
  // transaction, so a second factor turned on meanwhile is still required.
  if (found.twoFactor) return resetWithSecondFactor(db, { ...input, found }, schedule);

  // Without a second factor the link alone may set this password: the mailbox is the whole proof.
  // The policy, the "different from your current password" check and the new hash side by side:
  // one argon2 run's wait, not two. Hashed before the transaction so that row locks are held for milliseconds, not an argon2 run.
  const [passwordErrors, hashed] = await Promise.all([
    passwordPolicyErrors(input.password),
    hashNewPassword(found.passwordHash, input.password),
  ]);
  if (hashed.sameAsCurrent) passwordErrors.push("Choose a password different from your current one.");
  if (passwordErrors.length > 0) return { ok: false, code: "PASSWORD_REJECTED", passwordErrors };

  const change = { ...input, userId: found.userId, tokenId: found.tokenId, passwordHash: hashed.hash };
  const outcome = await consumeAndChangeAtOnce(db, change, schedule);
  return outcome ?? (await lostTheToken(db, input, found.userId));
}

/** Lost a race (or expired a moment ago): says which, from the row as it is now. */
async function lostTheToken(db: Database, input: { token: string } & RequestContext, userId: string): Promise<ResetPasswordResult> {
  const now = await findToken(db, input.token);
  const problem: TokenProblem = now.status === "valid" ? "used" : now.status;
  await auditTokenProblem(db, problem, { ...input, userId });
  return { ok: false, code: "TOKEN_PROBLEM", problem };
}

/** The reset of an account with two-factor on: counted, then the code, then the password. */
async function resetWithSecondFactor(
  db: Database,
  input: { token: string; password: string; found: { userId: string; tokenId: string } } & SecondFactorInput &
    PasskeyInput &
    RequestContext,
  schedule: Schedule,
): Promise<ResetPasswordResult> {
  const { userId, tokenId } = input.found;
  if (!hasSecondFactorInput(input)) return { ok: false, code: "SECOND_FACTOR_REQUIRED" };

  // Both counts come before anything is checked and outside the transaction (PGlite has one
  // connection): parallel attempts cannot pass either limit, and the counts outlive a rollback.
  const onLink = await consumeRateLimit(db, resetLinkLimit(), tokenId);
  if (!onLink.allowed) return { ok: false, code: "TOO_MANY_ATTEMPTS" };
  const budget = await countSecondFactorAttempt(db, userId, input);
  let outcome: ResetPasswordResult | null = budget;
  if (budget.ok) {
    outcome = await consumeAndChange(db, { ...input, userId, tokenId }, schedule);
    // A right code (or one never checked because the token was gone) gives its attempt back.
    await settleAttempt(db, userId, outcome ?? { ok: false }, input);
  }
  if (!outcome) return lostTheToken(db, input, userId);
  // The link's last attempt failed: the link is spent, whatever the reason.
  if (!outcome.ok && outcome.code !== "TOKEN_PROBLEM" && onLink.remaining === 0) {
    await spendResetLink(db, tokenId, { ...input, userId });
    return { ok: false, code: "TOO_MANY_ATTEMPTS" };
  }
  return outcome;
}

/** Marks a reset link used once its attempts are spent; audited once, by the attempt that spends it. */
async function spendResetLink(db: Database, tokenId: string, context: RequestContext & { userId: string }): Promise<void> {
  const spent = await db
    .update(passwordResetTokens)
    .set({ usedAt: sql`now()` })
    .where(and(eq(passwordResetTokens.id, tokenId), isNull(passwordResetTokens.usedAt)))
    .returning({ id: passwordResetTokens.id });
  if (spent.length === 0) return;
  await audit(db, {
    event: "password_reset.link_attempts_spent",
    userId: context.userId,
    ip: context.ip,
    userAgent: context.userAgent,
    details: { token_id: tokenId, attempts: RESET_LINK_ATTEMPTS },
  });
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
        select ${users.id} as id, ${hasSecondFactorSql()} as two_factor from ${users}
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
 * code, then (only once it passed) the new password, then the credential change. Null when the
 * token was no longer there to consume; a refused code or password rolls everything back, the
 * token's consumption and the code's spending with it.
 */
async function consumeAndChange(
  db: Database,
  input: { token: string; password: string; userId: string; tokenId: string } & SecondFactorInput & PasskeyInput & RequestContext,
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
      if (await hasSecondFactor(tx, consumed.userId)) {
        // A passkey's ceremony is bound to this link (its hash), and spent here with the token.
        const checked =
          input.passkey === undefined
            ? await checkSecondFactor(tx, consumed.userId, input)
            : await checkPasskey(tx, { purpose: "reset", binding: input.token, userId: consumed.userId, response: input.passkey });
        if (!checked.ok)
          throw new RollBack({ ok: false, code: checked.code === "NOT_ENABLED" ? "SECOND_FACTOR_REQUIRED" : "INVALID_CODE" });
        if (checked.method === "recovery_code") recoveryCodesLeft = checked.recoveryCodesLeft ?? 0;
      }

      // Only now, past the second factor, is the password compared with the current one: before
      // it, an answer would tell a mailbox holder whether a guess is the current password. The
      // argon2 run holds the user's lock; only an attempt with a right code gets here.
      const passwordHash = await acceptedNewPassword(tx, consumed.userId, input.password);
      if (typeof passwordHash !== "string") throw new RollBack(passwordHash);

      if (!(await changeCredentials(tx, db, resetChange({ ...input, passwordHash }), schedule)))
        throw new Error("reset token points at a missing user");
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

/** The new password's hash, or why it is refused: the policy, or the same as the current one. */
async function acceptedNewPassword(tx: Transaction, userId: string, password: string): Promise<string | ResetPasswordResult> {
  const [user] = await tx.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, userId));
  const [passwordErrors, hashed] = await Promise.all([
    passwordPolicyErrors(password),
    hashNewPassword(user?.passwordHash ?? null, password),
  ]);
  if (hashed.sameAsCurrent) passwordErrors.push("Choose a password different from your current one.");
  if (passwordErrors.length > 0) return { ok: false, code: "PASSWORD_REJECTED", passwordErrors };
  return hashed.hash;
}

// Each step of the reset flow is a span when tracing is on (instrumentation.ts).
export const inspectResetToken = traced("password_reset.inspect_token", inspectResetTokenUntraced);
export const resetPassword = traced("password_reset.complete", resetPasswordUntraced);
