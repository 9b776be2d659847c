import "server-only";
import { sql, type SQL } from "drizzle-orm";
import { queryRows, type Database, type Transaction } from "@/db/client";
import { sessions, twoFactorChallenges, users } from "@/db/schema";
import { audit } from "../audit";
import { nextCredentialsVersion } from "../auth/sessions";
import type { RequestContext } from "../client-ip";

/** Who ends every session: an admin from /admin, or an operator running the script. */
export type EndAllSessionsActor = ({ via: "admin"; adminId: string } & RequestContext) | { via: "script"; operator: string; host: string };

export interface EndAllSessionsResult {
  sessionsEnded: number;
  signInStepsEnded: number;
}

/**
 * Deletes every row of `table`; returns how many of them were still in use (`inUse`: not
 * expired, not spent), counted in the database, not shipped over.
 */
async function deleteAll(tx: Transaction, table: typeof sessions | typeof twoFactorChallenges, inUse: SQL): Promise<number> {
  const [row] = await queryRows<{ n: number }>(
    tx,
    sql`with gone as (delete from ${table} returning ${inUse} as in_use) select count(*) filter (where in_use)::int as n from gone`,
  );
  return Number(row?.n ?? 0);
}

/**
 * Ends every session of every user at once (browsers, apps, command-line tools: each is a session
 * row) and every pending second sign-in step, audited with who did it and how many ended. For
 * after a breach: rotating AUTH_SECRET signs nobody out, since session tokens are random and
 * stored hashed. Every user's credentials version is raised in the same transaction, so a sign-in
 * whose password check was in flight stores no session afterwards (lib/auth/sessions.ts).
 */
export async function endAllSessions(db: Database, actor: EndAllSessionsActor): Promise<EndAllSessionsResult> {
  return db.transaction(async (tx) => {
    // Users first, then sessions: the lock order every credential change keeps (lib/user-lock.ts).
    await tx.update(users).set({ credentialsVersion: nextCredentialsVersion() });
    const result = {
      sessionsEnded: await deleteAll(tx, sessions, sql`${sessions.expires} > now()`),
      signInStepsEnded: await deleteAll(
        tx,
        twoFactorChallenges,
        sql`${twoFactorChallenges.usedAt} is null and ${twoFactorChallenges.expiresAt} > now()`,
      ),
    };
    const counts = { sessions: result.sessionsEnded, sign_in_steps: result.signInStepsEnded };
    await audit(
      tx,
      actor.via === "admin"
        ? {
            event: "sessions.all_ended",
            ip: actor.ip,
            userAgent: actor.userAgent,
            details: { via: "admin", admin_id: actor.adminId, ...counts },
          }
        : { event: "sessions.all_ended", details: { via: "script", operator: actor.operator, host: actor.host, ...counts } },
    );
    return result;
  });
}
