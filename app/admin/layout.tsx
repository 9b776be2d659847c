import type { Metadata } from "next";
import type { ReactNode } from "react";
import { requireAdmin } from "@/lib/admin/access";
import { AdminNav } from "./admin-nav";

export const metadata: Metadata = { title: { template: "%s · Admin", default: "Admin" }, robots: { index: false } };

// The layout is the first gate (a 404 for everyone but an admin), not the only one: a layout
// does not run for server actions, and may be skipped on client navigation, so every page and
// action under /admin calls requireAdmin itself as well.
export default async function AdminLayout({ children }: { children: ReactNode }) {
  await requireAdmin();
  // One wide card for the whole area, its navigation inside: operators read tables, not forms.
  return (
    <div className="card full stack">
      <AdminNav />
      {children}
    </div>
  );
}
