import type { Metadata } from "next";
import { ConfirmIdentityForm } from "@/app/_components/confirm-identity-form";
import { FormAlert } from "@/app/_components/fields";
import { EMAIL_CHANGE_TTL_MINUTES, pendingEmailChange } from "@/lib/accounts/change-email";
import { isIdentityConfirmed, reauthMinutes } from "@/lib/auth/confirm-identity";
import { requireSession } from "@/lib/auth/current";
import { getDb } from "@/lib/db";
import { secondFactorsOf } from "@/lib/second-factor/second-factors";
import { AccountNav } from "../account-nav";
import { ChangeEmailForm } from "./change-email-form";

export const metadata: Metadata = { title: "Change email address" };

const PAGE = "/account/email";

export default async function ChangeEmailPage({ searchParams }: { searchParams: Promise<{ sent?: string }> }) {
  const session = await requireSession(PAGE);
  const db = await getDb();
  const { sent } = await searchParams;
  const [confirmed, pending, factors] = await Promise.all([
    isIdentityConfirmed(db, { userId: session.user.id, sessionId: session.sessionId }),
    pendingEmailChange(db, session.user.id),
    secondFactorsOf(db, session.user.id),
  ]);
  return (
    <div className="card stack">
      <AccountNav current={PAGE} />
      <h1>Change email address</h1>
      <p className="lead">
        Your email address is <strong data-testid="current-email">{session.user.email}</strong>. Sign-in, password resets and notices use it
        until a new one is confirmed.
      </p>
      {sent === "1" ? (
        <FormAlert tone="success">
          <p data-testid="email-change-sent">
            We sent a confirmation link to the new address. Open it within {EMAIL_CHANGE_TTL_MINUTES} minutes and enter your password to
            finish. Until then, nothing changes.
          </p>
        </FormAlert>
      ) : null}
      {pending && sent !== "1" ? (
        <p data-testid="email-change-pending">
          A change to {pending.maskedEmail} is waiting for its link to be opened. Asking for another address cancels it, as does a password
          reset.
        </p>
      ) : null}
      {confirmed ? (
        <ChangeEmailForm />
      ) : (
        <ConfirmIdentityForm
          returnTo={PAGE}
          twoFactor={factors.totp || factors.passkey}
          passkey={factors.passkey}
          minutes={reauthMinutes()}
          reason="Changing your email address changes where recovery links go."
        />
      )}
    </div>
  );
}
