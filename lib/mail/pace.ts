import "server-only";
import { sql } from "drizzle-orm";
import type { Database } from "@/db/client";
import { sendPace } from "@/db/schema";

export type SlotResult = { ok: true; waitMs: number } | { ok: false; retryAfterMs: number };

function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/**
 * Takes the next free send slot of `name`, shared by every instance: one row whose next-slot
 * time is advanced atomically by 1/rate. Answers how long to wait for the slot. A slot further
 * away than `maxWaitMs` is not taken (so no slot is wasted): the caller queues the work instead.
 */
export async function reserveSendSlot(db: Database, name: string, perSecond: number, maxWaitMs: number): Promise<SlotResult> {
  const step = sql`(${1000 / perSecond}::double precision * interval '1 millisecond')`;
  const reserved = rowsOf<{ wait_ms: number | string }>(
    await db.execute(sql`
      insert into ${sendPace} (name, next_slot_at) values (${name}, now() + ${step})
      on conflict (name) do update
        set next_slot_at = greatest(${sendPace.nextSlotAt}, now()) + ${step}
        where greatest(${sendPace.nextSlotAt}, now()) <= now() + ${maxWaitMs}::double precision * interval '1 millisecond'
      returning extract(epoch from (next_slot_at - ${step} - now())) * 1000 as wait_ms`),
  );
  const row = reserved[0];
  if (row) return { ok: true, waitMs: Math.max(0, Number(row.wait_ms)) };
  const [current] = rowsOf<{ wait_ms: number | string }>(
    await db.execute(sql`select extract(epoch from (next_slot_at - now())) * 1000 as wait_ms from ${sendPace} where name = ${name}`),
  );
  return { ok: false, retryAfterMs: Math.max(0, Number(current?.wait_ms ?? 0)) };
}
