import "server-only";
import { sql } from "drizzle-orm";
import { queryRows, type Database } from "@/db/client";
import { sendPace } from "@/db/schema";
import { batchedPerDatabase, groupPositions } from "../batch";

export type SlotResult = { ok: true; waitMs: number } | { ok: false; retryAfterMs: number };

/**
 * Takes `count` consecutive send slots of `name`, shared by every instance: one row whose
 * next-slot time is advanced atomically by count/rate. All or none: none when the last of them
 * is further away than `maxWaitMs` (so no slot is wasted). Answers how long to wait for each.
 */
async function takeSlots(db: Database, name: string, perSecond: number, maxWaitMs: number, count: number): Promise<number[] | null> {
  const stepMs = 1000 / perSecond;
  const span = sql`(${stepMs * count}::double precision * interval '1 millisecond')`;
  const last = sql`(${stepMs * (count - 1)}::double precision * interval '1 millisecond')`;
  const maxWait = sql`(${maxWaitMs}::double precision * interval '1 millisecond')`;
  const [row] = await queryRows<{ wait_ms: number | string }>(
    db,
    sql`
      insert into ${sendPace} (name, next_slot_at) select ${name}, now() + ${span} where ${last} <= ${maxWait}
      on conflict (name) do update
        set next_slot_at = greatest(${sendPace.nextSlotAt}, now()) + ${span}
        where greatest(${sendPace.nextSlotAt}, now()) + ${last} <= now() + ${maxWait}
      returning extract(epoch from (next_slot_at - ${span} - now())) * 1000 as wait_ms`,
  );
  if (!row) return null;
  const first = Number(row.wait_ms);
  return Array.from({ length: count }, (_, n) => Math.max(0, first + n * stepMs));
}

/**
 * Takes the next free send slot of `name`, shared by every instance (see takeSlots). Answers how
 * long to wait for it; a slot further away than `maxWaitMs` is not taken: the caller queues the
 * work instead.
 */
export async function reserveSendSlot(db: Database, name: string, perSecond: number, maxWaitMs: number): Promise<SlotResult> {
  const waits = await takeSlots(db, name, perSecond, maxWaitMs, 1);
  if (waits) return { ok: true, waitMs: waits[0]! };
  const [current] = await queryRows<{ wait_ms: number | string }>(
    db,
    sql`select extract(epoch from (next_slot_at - now())) * 1000 as wait_ms from ${sendPace} where name = ${name}`,
  );
  return { ok: false, retryAfterMs: Math.max(0, Number(current?.wait_ms ?? 0)) };
}

export type SlotRequest = { name: string; perSecond: number; maxWaitMs: number };

/**
 * reserveSendSlot for sends that start side by side (the jobs of one claimed batch): their
 * slots are taken by one statement, consecutive. When they do not all fit, each is reserved on
 * its own, as if alone.
 */
export const reserveSendSlotWithOthers = batchedPerDatabase(
  async (db: Database, requests: readonly SlotRequest[]): Promise<SlotResult[]> => {
    const results: SlotResult[] = [];
    await Promise.all(
      groupPositions(requests, (r) => `${r.name}\u0000${r.perSecond}\u0000${r.maxWaitMs}`).map(async (members) => {
        const { name, perSecond, maxWaitMs } = requests[members[0]!]!;
        const waits = members.length > 1 ? await takeSlots(db, name, perSecond, maxWaitMs, members.length) : null;
        if (waits) members.forEach((n, k) => (results[n] = { ok: true, waitMs: waits[k]! }));
        else await Promise.all(members.map(async (n) => (results[n] = await reserveSendSlot(db, name, perSecond, maxWaitMs))));
      }),
    );
    return results;
  },
);
