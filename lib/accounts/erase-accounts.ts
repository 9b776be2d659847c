import "server-only";
import { sql } from "drizzle-orm";
import { queryRows, type Database } from "@/db/client";
import { auditEvents, jobs, users } from "@/db/schema";
import { audit } from "../audit";
import { env } from "../env";
import { emailFingerprint } from "../tokens";

/** Accounts erased per transaction: a long backlog is worked through in short transactions. */
const ERASE_BATCH = 100;

/**
 * Erases every account whose deletion is older than ACCOUNT_DELETION_GRACE_DAYS (the cleanup
 * cron): the user row and, by their foreign keys, its sessions, factors, links and device
 * authorizations; the jobs about it; and its audit rows keep only the address's fingerprint:
 * no user id, no IP or user agent, no detail naming the account. Each account is locked first
 * and skipped while locked: a cancel in progress wins, and a cancel that comes second finds
 * nothing to restore. Returns how many accounts were erased.
 */
export async function eraseDeletedAccounts(db: Database): Promise<number> {
  const graceDays = env().ACCOUNT_DELETION_GRACE_DAYS;
  let erased = 0;
  for (;;) {
    const batch = await db.transaction(async (tx) => {
      const due = await queryRows<{ id: string; email: string }>(
        tx,
        sql`select ${users.id} as id, ${users.email} as email from ${users}
          where ${users.deletionRequestedAt} < now() - make_interval(days => ${graceDays})
          order by ${users.id} limit ${ERASE_BATCH} for update skip locked`,
      );
      if (due.length === 0) return 0;
      const ids = due.map((u) => u.id);
      const emails = due.map((u) => u.email);
      const fingerprints = emails.map(emailFingerprint);
      const named = sql`array[${sql.join(
        [...ids, ...emails].map((v) => sql`${v}::text`),
        sql`, `,
      )}]`;
      const idList = sql`array[${sql.join(
        ids.map((v) => sql`${v}::text`),
        sql`, `,
      )}]`;
      const fpList = sql`array[${sql.join(
        fingerprints.map((v) => sql`${v}::text`),
        sql`, `,
      )}]`;
      const emailList = sql`array[${sql.join(
        emails.map((v) => sql`${v}::text`),
        sql`, `,
      )}]`;
      // Before the user row goes: its foreign key would set user_id null and lose which rows were theirs.
      await tx.execute(sql`update ${auditEvents} set user_id = null, ip = null, user_agent = null,
          details = coalesce((select jsonb_object_agg(key, value) from jsonb_each(${auditEvents.details})
            where not (jsonb_typeof(value) = 'string' and value #>> '{}' = any(${named}))), '{}'::jsonb)
        where ${auditEvents.userId} = any(${idList}) or ${auditEvents.emailHmac} = any(${fpList})`);
      await tx.execute(sql`delete from ${jobs} where ${jobs.payload}->>'userId' = any(${idList})
        or lower(${jobs.payload}->>'email') = any(${emailList}) or lower(${jobs.payload}->>'oldEmail') = any(${emailList})
        or lower(${jobs.payload}->>'newEmail') = any(${emailList})`);
      await tx.execute(sql`delete from ${users} where ${users.id} = any(${idList})`);
      for (const email of emails) await audit(tx, { event: "account.erased", email, details: { grace_days: graceDays } });
      return due.length;
    });
    erased += batch;
    if (batch < ERASE_BATCH) return erased;
  }
}
