import { headers } from "next/headers";
import { getDb } from "@/lib/db";
import { ADMIN_TWO_FACTOR_PAGE, findAdminAdmission } from "@/lib/admin/access";
import { AuditFiltersSchema, exportAuditCsv } from "@/lib/admin/audit-log";
import { audit } from "@/lib/audit";
import { requestContext } from "@/lib/client-ip";

// A route handler runs outside app/admin/layout.tsx, so it checks for an admin itself and
// answers the same bare 404 as any unknown path would for everyone else. An admin whose
// session did not pass a second factor is sent to the page that says how to get one.
export async function GET(request: Request): Promise<Response> {
  const admission = await findAdminAdmission();
  if (admission.status === "needs_two_factor") return new Response(null, { status: 303, headers: { location: ADMIN_TWO_FACTOR_PAGE } });
  if (admission.status !== "admitted")
    return new Response("Not found", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
  const { admin } = admission;
  const query = Object.fromEntries(new URL(request.url).searchParams);
  const parsed = AuditFiltersSchema.safeParse({ ...query, page: "1" });
  if (!parsed.success) return new Response("Invalid filters", { status: 400, headers: { "content-type": "text/plain; charset=utf-8" } });
  const db = await getDb();
  const csv = await exportAuditCsv(db, parsed.data);
  const { email: _email, ...filtersWithoutAddress } = parsed.data;
  await audit(db, {
    event: "admin.audit_exported",
    userId: admin.userId,
    ...requestContext(await headers()),
    details: { admin_id: admin.userId, ...filtersWithoutAddress, by_email: Boolean(_email) },
  });
  return new Response(csv, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="audit-${new Date().toISOString().slice(0, 10)}.csv"`,
      "cache-control": "no-store",
    },
  });
}
