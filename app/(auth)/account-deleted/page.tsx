import type { Metadata } from "next";
import Link from "next/link";
import { env } from "@/lib/env";

export const metadata: Metadata = { title: "Account deleted" };

export default function AccountDeletedPage() {
  const days = env().ACCOUNT_DELETION_GRACE_DAYS;
  return (
    <div className="card stack" data-testid="account-deleted">
      <h1>Your account is deleted</h1>
      <p>Every session has been signed out. Your account can no longer be signed in to.</p>
      <p>
        Changed your mind? We emailed you a link that cancels the deletion. It works for {days} days; after that your account is erased for
        good.
      </p>
      <p className="links">
        <Link href="/">Home</Link>
      </p>
    </div>
  );
}
