import "server-only";
import DataLoader from "dataloader";
import { sql, type SQL } from "drizzle-orm";
import type { Database } from "@/db/client";

/** The most calls one batch takes. */
const MAX_BATCH = 100;

/**
 * Gathers the calls made on one database within one turn of the event loop into a single call
 * of `run` (DataLoader, without its cache: every call is a call of its own). The requests of a
 * flood are read together, and the jobs of one claimed batch reach their next step side by
 * side, so each such step can be one statement for the lot instead of one each. `run` answers
 * one value per key, in order; if it throws, every call of that batch throws. One loader per
 * database, so that tests running on PGlite and PostgreSQL in one process never mix their
 * batches.
 */
export function batchedPerDatabase<K, V>(run: (db: Database, keys: readonly K[]) => Promise<V[]>): (db: Database, key: K) => Promise<V> {
  const loaders = new WeakMap<Database, DataLoader<K, V>>();
  return (db, key) => {
    let loader = loaders.get(db);
    if (!loader) {
      loader = new DataLoader<K, V>((keys) => run(db, keys), {
        cache: false,
        maxBatchSize: MAX_BATCH,
        // After every promise job of this turn: a batch's jobs get here through chains of awaits.
        batchScheduleFn: (dispatch) => setImmediate(dispatch),
      });
      loaders.set(db, loader);
    }
    return loader.load(key);
  };
}

/**
 * The positions of `items` grouped by `keyOf` (in order within each group): a batch's calls that
 * differ in what their statement is built from (a limit, a rate) get one statement per group.
 */
export function groupPositions<T>(items: readonly T[], keyOf: (item: T) => string): number[][] {
  const groups = new Map<string, number[]>();
  items.forEach((item, n) => {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(n);
    else groups.set(key, [n]);
  });
  return [...groups.values()];
}

/**
 * A batch's rows as a statement's input (a SELECT), read with jsonb_to_recordset as `columns`
 * (a constant list, so that the statement's text and its prepared plan stay the same for any
 * batch). The LIMIT, always the row count, is what the planner knows of their number: a set
 * function counts as 100 rows to it, and a lookup of 100 keys in a table of tens of thousands
 * (the jobs of a few days) was planned as a scan of the whole table, hashed: 14 ms a statement
 * at 20,000 jobs instead of 0.4 ms by the primary key (docs/benchmarks.md).
 */
export function batchRowsSql(rows: readonly object[], columns: string): SQL {
  return sql`select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as t(${sql.raw(columns)}) limit ${rows.length}`;
}
