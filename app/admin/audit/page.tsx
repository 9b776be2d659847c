import type { Metadata } from "next";
import Link from "next/link";
import { FormAlert } from "@/app/_components/fields";
import { getDb } from "@/lib/db";
import { requireAdmin } from "@/lib/admin/access";
import { AuditFiltersSchema, listAuditEventNames, searchAuditEvents, type AuditFilters } from "@/lib/admin/audit-log";
import styles from "../admin.module.css";
import { formatUtc } from "../format";

export const metadata: Metadata = { title: "Audit log" };

type Params = Record<string, string | string[] | undefined>;

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) ?? "";

/** The query string of the filters (for the next/previous page and the CSV link). */
function queryOf(filters: Partial<AuditFilters>, page?: number): string {
  const q = new URLSearchParams();
  for (const key of ["event", "from", "to", "email"] as const) if (filters[key]) q.set(key, String(filters[key]));
  if (page && page > 1) q.set("page", String(page));
  return q.toString();
}

// A GET form: filters are bookmarkable and work without JavaScript. The exact-email filter
// does put an address in this admin's URL; it is matched only through its fingerprint.
export default async function AdminAuditPage({ searchParams }: { searchParams: Promise<Params> }) {
  await requireAdmin();
  const params = await searchParams;
  const raw = {
    event: first(params.event),
    from: first(params.from),
    to: first(params.to),
    email: first(params.email),
    page: first(params.page) || "1",
  };
  const parsed = AuditFiltersSchema.safeParse(raw);
  const db = await getDb();
  const events = await listAuditEventNames(db);
  const result = parsed.success ? await searchAuditEvents(db, parsed.data) : null;
  const errors = parsed.success ? [] : [...new Set(parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`))];

  return (
    <div className="stack">
      <h1>Audit log</h1>
      <form method="get" action="/admin/audit" aria-label="Filter the audit log" className={styles.filters}>
        <div className="field">
          <label htmlFor="audit-event">Event</label>
          <select id="audit-event" name="event" defaultValue={raw.event}>
            <option value="">Any event</option>
            {events.map((e) => (
              <option key={e} value={e}>
                {e}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="audit-from">From (UTC day)</label>
          <input id="audit-from" name="from" type="date" defaultValue={raw.from} />
        </div>
        <div className="field">
          <label htmlFor="audit-to">To (UTC day, included)</label>
          <input id="audit-to" name="to" type="date" defaultValue={raw.to} />
        </div>
        <div className="field">
          <label htmlFor="audit-email">Exact email</label>
          <input id="audit-email" name="email" type="email" autoComplete="off" defaultValue={raw.email} />
        </div>
        <div className="field">
          <button type="submit" className="primary">
            Filter
          </button>
        </div>
      </form>
      {errors.length > 0 ? (
        <FormAlert tone="error">
          <ul>
            {errors.map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
        </FormAlert>
      ) : null}
      {result && parsed.success ? (
        <>
          <p>
            <a href={`/admin/audit/export?${queryOf(parsed.data)}`} download>
              Download these events as CSV
            </a>
          </p>
          <div className={styles.scroll} role="region" aria-labelledby="audit-caption" tabIndex={0}>
            <table>
              <caption id="audit-caption" className={styles.caption}>
                Page {parsed.data.page}, newest first. Times are in UTC; addresses appear only as fingerprints.
              </caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Event</th>
                  <th scope="col">User</th>
                  <th scope="col">IP address</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {result.rows.map((e) => (
                  <tr key={e.id} data-testid="audit-row">
                    <td>{formatUtc(e.createdAt)}</td>
                    <th scope="row">{e.event}</th>
                    <td>{e.userId ? <Link href={`/admin/users/${e.userId}`}>Account</Link> : ""}</td>
                    <td>{e.ip ?? ""}</td>
                    <td className={styles.details}>{Object.keys(e.details).length > 0 ? JSON.stringify(e.details) : ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {result.rows.length === 0 ? <p>No events match these filters.</p> : null}
          <nav aria-label="Pages" className={styles.pager}>
            {parsed.data.page > 1 ? <Link href={`/admin/audit?${queryOf(parsed.data, parsed.data.page - 1)}`}>Newer events</Link> : null}
            {result.hasNext ? <Link href={`/admin/audit?${queryOf(parsed.data, parsed.data.page + 1)}`}>Older events</Link> : null}
          </nav>
        </>
      ) : null}
    </div>
  );
}
