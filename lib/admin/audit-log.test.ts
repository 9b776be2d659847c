import { expect, it } from "vitest";
import { auditEvents } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { uniqueEmail } from "@/test-support/users";
import { audit } from "../audit";
import { emailFingerprint } from "../tokens";
import { AUDIT_PAGE_SIZE, AuditFiltersSchema, csvCell, exportAuditCsv, searchAuditEvents } from "./audit-log";

const filters = (raw: Record<string, string>) => AuditFiltersSchema.parse(raw);

/** A minimal RFC 4180 reader: enough to prove the export parses back into the same cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += c;
  }
  return rows;
}

it("neutralises a cell that a spreadsheet would run as a formula and quotes what needs quoting", () => {
  expect(csvCell('=HYPERLINK("http://evil")')).toBe(`"'=HYPERLINK(""http://evil"")"`);
  expect(csvCell("+1")).toBe("'+1");
  expect(csvCell("-2+3")).toBe("'-2+3");
  expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
  expect(csvCell("\t=1")).toBe("'\t=1");
  expect(csvCell("a,b")).toBe(`"a,b"`);
  expect(csvCell("line\nbreak")).toBe(`"line\nbreak"`);
  expect(csvCell("plain")).toBe("plain");
  expect(csvCell(null)).toBe("");
});

describeEachDatabase("admin audit log", ({ handle }) => {
  const db = () => handle().db;

  it("filters by event, by whole UTC days (the end day included) and by exact email through its fingerprint", async () => {
    const alice = uniqueEmail();
    const bob = uniqueEmail();
    const rows = [
      { event: "password_reset.requested", email: alice, createdAt: new Date("2026-03-01T10:00:00Z") },
      { event: "password_reset.requested", email: bob, createdAt: new Date("2026-03-02T23:59:59Z") },
      { event: "user.sign_in_failed", email: alice, createdAt: new Date("2026-03-03T00:00:00Z") },
      { event: "password_reset.requested", email: alice, createdAt: new Date("2026-03-04T08:00:00Z") },
    ];
    // Written as audit() writes them (the address only as its fingerprint), dated explicitly.
    await db()
      .insert(auditEvents)
      .values(rows.map((r) => ({ event: r.event, emailHmac: emailFingerprint(r.email), ip: "198.51.100.9", createdAt: r.createdAt })));
    const dated = (f: Record<string, string>) => searchAuditEvents(db(), filters({ from: "2026-03-01", to: "2026-03-04", ...f }));

    const byAlice = await dated({ email: ` ${alice.toUpperCase()} ` });
    expect(byAlice.rows.map((r) => r.createdAt.toISOString())).toEqual([
      "2026-03-04T08:00:00.000Z",
      "2026-03-03T00:00:00.000Z",
      "2026-03-01T10:00:00.000Z",
    ]);
    expect(byAlice.rows.every((r) => !JSON.stringify(r).includes(alice))).toBe(true);

    const requests = await dated({ event: "password_reset.requested" });
    expect(requests.rows).toHaveLength(3);

    const secondDayOnly = await dated({ from: "2026-03-02", to: "2026-03-02" });
    expect(secondDayOnly.rows.map((r) => r.createdAt.toISOString())).toEqual(["2026-03-02T23:59:59.000Z"]);

    const aliceRequestsFromThe2nd = await dated({ email: alice, event: "password_reset.requested", from: "2026-03-02" });
    expect(aliceRequestsFromThe2nd.rows.map((r) => r.createdAt.toISOString())).toEqual(["2026-03-04T08:00:00.000Z"]);
  });

  it("pages newest first and says when there is a next page", async () => {
    const email = uniqueEmail();
    for (let i = 0; i < AUDIT_PAGE_SIZE + 3; i++) await audit(db(), { event: "password_reset.throttled", email });
    const first = await searchAuditEvents(db(), filters({ email }));
    const second = await searchAuditEvents(db(), filters({ email, page: "2" }));
    expect(first.rows).toHaveLength(AUDIT_PAGE_SIZE);
    expect(first.hasNext).toBe(true);
    expect(second.rows).toHaveLength(3);
    expect(second.hasNext).toBe(false);
    const ids = new Set([...first.rows, ...second.rows].map((r) => r.id));
    expect(ids.size).toBe(AUDIT_PAGE_SIZE + 3);
  });

  it("exports the filtered rows as CSV whose attacker-chosen cells cannot run as formulas", async () => {
    const email = uniqueEmail();
    const hostileAgent = '=cmd|"/c calc"!A1, "quoted"';
    await audit(db(), { event: "user.sign_in_failed", email, ip: "203.0.113.5", userAgent: hostileAgent, details: { note: "@evil" } });
    await audit(db(), { event: "user.signed_in", email, userAgent: "-1+1" });
    await audit(db(), { event: "user.sign_in_failed", email: uniqueEmail(), userAgent: "someone else" });

    const csv = await exportAuditCsv(db(), filters({ email, event: "user.sign_in_failed" }));
    const table = parseCsv(csv);
    expect(table[0]).toEqual(["created_at", "event", "user_id", "email_fingerprint", "ip", "user_agent", "details"]);
    expect(table).toHaveLength(2);
    expect(table[1]?.[1]).toBe("user.sign_in_failed");
    expect(table[1]?.[4]).toBe("203.0.113.5");
    expect(table[1]?.[5]).toBe(`'${hostileAgent}`);
    expect(table[1]?.[6]).toBe('{"note":"@evil"}');
    expect(csv).not.toContain(email);
    for (const cell of table.flat()) expect(cell).not.toMatch(/^[=+\-@]/);

    const signedIn = parseCsv(await exportAuditCsv(db(), filters({ email, event: "user.signed_in" })));
    expect(signedIn[1]?.[5]).toBe("'-1+1");
  });
});
