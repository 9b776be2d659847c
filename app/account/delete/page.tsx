import type { Metadata } from "next";
import { ConfirmIdentityForm } from "@/app/_components/confirm-identity-form";
import { isIdentityConfirmed, reauthMinutes } from "@/lib/auth/confirm-identity";
import { requireSession } from "@/lib/auth/current";
import { getDb } from "@/lib/db";
import { env } from "@/lib/env";
import { secondFactorsOf } from "@/lib/second-factor/second-factors";
import { AccountNav } from "../account-nav";
import { DeleteAccountForm } from "./delete-account-form";

export const metadata: Metadata = { title: "Delete account" };

const PAGE = "/account/delete";

export default async function DeleteAccountPage() {
  const session = await requireSession(PAGE);
  const db = await getDb();
  const confirmed = await isIdentityConfirmed(db, { userId: session.user.id, sessionId: session.sessionId });
  const factors = await secondFactorsOf(db, session.user.id);
  const days = env().ACCOUNT_DELETION_GRACE_DAYS;
  return (
    <div className="card stack">
      <AccountNav current={PAGE} />
      <h1>Delete account</h1>
      <p className="lead">Deleting your account takes effect at once:</p>
      <ul>
        <li>every device, app and command-line tool signed in to it is signed out;</li>
        <li>every link we emailed you (password reset, confirmation) stops working;</li>
        <li>nobody can sign in to it or reset its password any more.</li>
      </ul>
      <p>
        We email you a link that cancels the deletion for {days} days. After that, your account and everything we hold about you is erased
        for good; our security log keeps only an unreadable fingerprint of your address.
      </p>
      {confirmed ? (
        <DeleteAccountForm />
      ) : (
        <ConfirmIdentityForm
          returnTo={PAGE}
          twoFactor={factors.totp || factors.passkey}
          passkey={factors.passkey}
          minutes={reauthMinutes()}
          reason="Deleting your account needs a recent confirmation."
        />
      )}
    </div>
  );
}
