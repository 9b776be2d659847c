import type { Metadata } from "next";
import Link from "next/link";
import { notFound, redirect } from "next/navigation";
import { findAdminAdmission } from "@/lib/admin/access";
import { requireSession } from "@/lib/auth/current";
import { signOutAction } from "../actions";

export const metadata: Metadata = { title: "Admin pages need two-factor authentication", robots: { index: false } };

const PAGE = "/account/admin-two-factor";

// Where requireAdmin sends an admin whose session did not pass a second factor. Everyone else
// who is signed in gets the usual 404, so the page says nothing about who is an admin.
export default async function AdminTwoFactorPage() {
  await requireSession(PAGE);
  const admission = await findAdminAdmission();
  if (admission.status === "admitted") redirect("/admin");
  if (admission.status !== "needs_two_factor") notFound();
  return (
    <div className="card stack" data-testid="admin-two-factor-required">
      <h1>Admin pages need two-factor authentication</h1>
      <p>
        Your account is an admin, but this session was signed in with your password alone. The admin pages can end other people&apos;s
        sessions and reset their passwords, so they only open on a session that also passed a code from your authenticator app.
      </p>
      {admission.twoFactorOn ? (
        <p>
          Two-factor authentication is already on for your account: sign out, then sign in again and enter a code when asked. The admin
          pages then open.
        </p>
      ) : (
        <ol>
          <li>
            Turn on two-factor authentication on <Link href="/account/two-factor">your two-factor page</Link>.
          </li>
          <li>Sign out, then sign in again and enter a code from your authenticator app when asked.</li>
        </ol>
      )}
      <form action={signOutAction}>
        <button type="submit" className="secondary">
          Sign out
        </button>
      </form>
    </div>
  );
}
