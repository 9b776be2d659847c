import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import { passwordChangeReportTokens, passwordResetTokens, users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox } from "@/test-support/mail-helpers";
import { collectingSchedule, uniqueIp } from "@/test-support/reset-helpers";
import { createUser, CURRENT_PASSWORD } from "@/test-support/users";
import { changePassword } from "./accounts/change-password";
import { reportPasswordChange } from "./recovery/wasnt-me";
import { resetPassword } from "./recovery/reset";
import { generateToken } from "./tokens";

installTestOutbox();

const ROUNDS = 60;
const HOUR = 60 * 60 * 1000;

// Drizzle wraps the driver's error (and its message carries the query's parameters, a hash
// among them): report PostgreSQL's own code and message, e.g. "40P01 deadlock detected".
function describeFailure(reason: unknown): string {
  const cause = (reason as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ? `${cause.code} ${cause.message}` : String((reason as Error).message ?? reason).split("\n")[0]!;
}

async function later<T>(run: () => Promise<T>): Promise<T> {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
  return run();
}

/** A user with one live reset link and one live "This wasn't me" link; returns both tokens. */
async function userWithBothLinks(db: Database) {
  const user = await createUser(db);
  const reset = generateToken();
  const report = generateToken();
  const expiresAt = new Date(Date.now() + HOUR);
  await db.insert(passwordResetTokens).values({ userId: user.id, tokenHash: reset.hash, expiresAt });
  await db.insert(passwordChangeReportTokens).values({ userId: user.id, tokenHash: report.hash, expiresAt });
  return { user, resetToken: reset.token, reportToken: report.token };
}

describeEachDatabase('reset, change password and "This wasn\'t me" at once for one user', ({ handle }) => {
  const db = () => handle().db;

  it(`never deadlocks or throws, and leaves one consistent outcome (${ROUNDS} rounds)`, { timeout: 120_000 }, async () => {
    const failures: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { user, resetToken, reportToken } = await userWithBothLinks(db());
      const { schedule } = collectingSchedule();
      const context = { ip: uniqueIp(), userAgent: null };
      // Each starts after its own random delay, so that over the rounds their transactions
      // overlap in every order (the report hashes nothing and would otherwise always go first).
      const settled = await Promise.allSettled([
        later(() => resetPassword(db(), { token: resetToken, password: "Reset-Chose-This-71", ...context }, schedule)),
        later(() =>
          changePassword(
            db(),
            { userId: user.id, currentPassword: CURRENT_PASSWORD, newPassword: "Change-Chose-This-72", ...context },
            schedule,
          ),
        ),
        later(() => reportPasswordChange(db(), reportToken, context, schedule)),
      ]);
      for (const outcome of settled) {
        if (outcome.status === "rejected") failures.push(`round ${round}: ${describeFailure(outcome.reason)}`);
      }
      const [reset, change, report] = settled.map((s) => (s.status === "fulfilled" ? s.value : null));

      // Whatever the order, the report ran (its link is the user's own) and locked the
      // password, unless a later reset or change set a new one after it.
      expect(report).toEqual({ ok: true });
      const [row] = await db().select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, user.id));
      const somebodySetAPassword = (reset && "ok" in reset && reset.ok) || (change && change.ok);
      if (!somebodySetAPassword) expect(row?.passwordHash).toBeNull();
    }
    expect(failures).toEqual([]);
  });
});
