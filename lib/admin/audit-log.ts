import "server-only";
import { and, desc, eq, gte, lt, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "@/db/client";
import { auditEvents, type AuditEvent } from "@/db/schema";
import { emailFingerprint } from "../tokens";
import { EmailSchema } from "../validation/fields";

/** Rows per page of /admin/audit. */
export const AUDIT_PAGE_SIZE = 50;

/** The most rows one CSV export holds; narrow the filters for more. */
export const AUDIT_EXPORT_MAX_ROWS = 100_000;

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

/**
 * The filters as the page's GET form sends them. Dates are whole UTC days, `to` included.
 * Anything malformed is an error for the form to show, never a 500.
 */
export const AuditFiltersSchema = z.object({
  event: optionalText.pipe(
    z
      .string()
      .max(100)
      .regex(/^[a-z_.]+$/, "Choose an event from the list.")
      .optional(),
  ),
  from: optionalText.pipe(z.string().regex(DAY, "Enter a date like 2026-11-21.").optional()),
  to: optionalText.pipe(z.string().regex(DAY, "Enter a date like 2026-11-21.").optional()),
  email: optionalText.pipe(EmailSchema.optional()),
  page: z.coerce.number().int().min(1).max(100_000).catch(1),
});

export type AuditFilters = z.infer<typeof AuditFiltersSchema>;

function dayStart(day: string): Date | null {
  const date = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The SQL condition for the filters. Addresses are not stored: an email matches through its fingerprint. */
function whereOf(filters: AuditFilters): SQL | undefined {
  const conditions: SQL[] = [];
  if (filters.event) conditions.push(eq(auditEvents.event, filters.event));
  const from = filters.from ? dayStart(filters.from) : null;
  if (from) conditions.push(gte(auditEvents.createdAt, from));
  const to = filters.to ? dayStart(filters.to) : null;
  if (to) conditions.push(lt(auditEvents.createdAt, new Date(to.getTime() + 24 * 60 * 60 * 1000)));
  if (filters.email) conditions.push(eq(auditEvents.emailHmac, emailFingerprint(filters.email)));
  return conditions.length > 0 ? and(...conditions) : undefined;
}

/** One page of matching events, newest first, and whether there is a next page. */
export async function searchAuditEvents(db: Database, filters: AuditFilters): Promise<{ rows: AuditEvent[]; hasNext: boolean }> {
  const rows = await db
    .select()
    .from(auditEvents)
    .where(whereOf(filters))
    .orderBy(desc(auditEvents.createdAt), desc(auditEvents.id))
    .limit(AUDIT_PAGE_SIZE + 1)
    .offset((filters.page - 1) * AUDIT_PAGE_SIZE);
  return { rows: rows.slice(0, AUDIT_PAGE_SIZE), hasNext: rows.length > AUDIT_PAGE_SIZE };
}

// A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): an
// audit row carries text an attacker chose (the user agent), so such a cell gets a leading
// apostrophe, which spreadsheets show as text. Tab and CR start formulas in some of them too.
const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV field: neutralised if it could run as a formula, quoted (RFC 4180) when needed. */
export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

const CSV_COLUMNS = ["created_at", "event", "user_id", "email_fingerprint", "ip", "user_agent", "details"] as const;

/** Matching events (newest first, at most AUDIT_EXPORT_MAX_ROWS) as CSV with a header row, CRLF line ends. */
export async function exportAuditCsv(db: Database, filters: AuditFilters): Promise<string> {
  const rows = await db
    .select()
    .from(auditEvents)
    .where(whereOf(filters))
    .orderBy(desc(auditEvents.createdAt), desc(auditEvents.id))
    .limit(AUDIT_EXPORT_MAX_ROWS);
  const lines = [CSV_COLUMNS.join(",")];
  for (const row of rows) {
    lines.push(
      [row.createdAt.toISOString(), row.event, row.userId, row.emailHmac, row.ip, row.userAgent, JSON.stringify(row.details)]
        .map(csvCell)
        .join(","),
    );
  }
  return lines.join("\r\n") + "\r\n";
}

/** The event names that occur in the log, for the filter's list. */
export async function listAuditEventNames(db: Database): Promise<string[]> {
  const rows = await db.selectDistinct({ event: auditEvents.event }).from(auditEvents).orderBy(auditEvents.event);
  return rows.map((r) => r.event);
}
