import type { Metadata } from "next";
import { requireAdmin } from "@/lib/admin/access";
import { FindUserForm } from "./find-user-form";

export const metadata: Metadata = { title: "Users" };

export default async function AdminUsersPage() {
  await requireAdmin();
  return (
    <div className="card wide stack">
      <h1>Users</h1>
      <p className="lead">Find one account by its exact email address. There is no list of accounts, by design.</p>
      <FindUserForm />
    </div>
  );
}
