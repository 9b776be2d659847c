import type { Metadata } from "next";
import { requireSession } from "@/lib/auth/current";
import { AccountNav } from "./account-nav";
import { signOutAction } from "./actions";

export const metadata: Metadata = { title: "Your account" };

export default async function AccountPage() {
  const session = await requireSession("/account");
  return (
    <div className="card wide stack">
      <AccountNav current="/account" />
      <h1>Your account</h1>
      <dl className="details">
        <dt>Email</dt>
        <dd data-testid="account-email">{session.user.email}</dd>
        {session.user.name ? (
          <>
            <dt>Name</dt>
            <dd>{session.user.name}</dd>
          </>
        ) : null}
      </dl>
      <form action={signOutAction}>
        <button type="submit" className="secondary">
          Sign out
        </button>
      </form>
    </div>
  );
}
