import type { Metadata } from "next";
import { ConfirmIdentityForm } from "@/app/_components/confirm-identity-form";
import { FormAlert } from "@/app/_components/fields";
import { getDb } from "@/lib/db";
import { formatEmailTime } from "@/emails/layout";
import { isIdentityConfirmed, reauthMinutes } from "@/lib/auth/confirm-identity";
import { requireSession } from "@/lib/auth/current";
import { offerEnrolment, twoFactorState } from "@/lib/second-factor/enrolment";
import { secondFactorsOf } from "@/lib/second-factor/second-factors";
import { AccountNav } from "../account-nav";
import { DisableTwoFactorForm, NewRecoveryCodesForm, TwoFactorFlow } from "./two-factor-forms";
import styles from "./two-factor.module.css";

export const metadata: Metadata = { title: "Two-factor authentication" };

const PAGE = "/account/two-factor";

export default async function TwoFactorPage({ searchParams }: { searchParams: Promise<{ notice?: string }> }) {
  const session = await requireSession(PAGE);
  const db = await getDb();
  const [state, factors] = await Promise.all([twoFactorState(db, session.user.id), secondFactorsOf(db, session.user.id)]);
  const { notice } = await searchParams;
  // "Confirm it's you" first: the setup key, new recovery codes and turning it off are each
  // enough to lock the owner out, so a session cookie alone must not reach them.
  const confirmed = await isIdentityConfirmed(db, { userId: session.user.id, sessionId: session.sessionId });
  const offer =
    state.enabled || !confirmed
      ? null
      : await offerEnrolment(db, { id: session.user.id, email: session.user.email, sessionId: session.sessionId });
  if (offer && !offer.ok) throw new Error("two-factor state changed while the page was drawn");
  const confirm = (reason: string) => (
    <ConfirmIdentityForm
      returnTo={PAGE}
      twoFactor={factors.totp || factors.passkey}
      passkey={factors.passkey}
      minutes={reauthMinutes()}
      reason={reason}
    />
  );

  // TwoFactorFlow stays at this place in both states (see its comment).
  return (
    <div className="card wide stack">
      <AccountNav current={PAGE} />
      <h1>Two-factor authentication</h1>
      <TwoFactorFlow
        offer={offer ? { qr: `data:image/svg+xml;base64,${Buffer.from(offer.qrSvg).toString("base64")}`, setupKey: offer.setupKey } : null}
      >
        {state.enabled ? (
          <div className="stack">
            <p data-testid="two-factor-status">
              <strong>On</strong> since {formatEmailTime(state.enabledAt!)}. Signing in and resetting your password ask for a code from your
              authenticator app, or one of your recovery codes.
            </p>
            <p data-testid="recovery-codes-left">
              {state.recoveryCodesLeft === 1 ? "1 recovery code is" : `${state.recoveryCodesLeft} recovery codes are`} left.
            </p>
            {confirmed ? (
              <>
                <section className={`stack ${styles.section}`} aria-labelledby="codes-heading">
                  <h2 id="codes-heading">Recovery codes</h2>
                  <NewRecoveryCodesForm />
                </section>
                <section className={`stack ${styles.section}`} aria-labelledby="off-heading">
                  <h2 id="off-heading">Turn off</h2>
                  <p>Your account will then be protected by your password alone. We will email you that it was turned off.</p>
                  <DisableTwoFactorForm />
                </section>
              </>
            ) : (
              confirm("Making new recovery codes and turning two-factor authentication off need a recent confirmation.")
            )}
          </div>
        ) : (
          <div className="stack">
            {notice === "off" ? (
              <FormAlert tone="success">
                <p>Two-factor authentication is off. We emailed you about it.</p>
              </FormAlert>
            ) : null}
            <p className="lead" data-testid="two-factor-status">
              Off. With it on, signing in and resetting your password also need a code from an authenticator app on your phone, so your
              password or your mailbox alone is not enough to take over your account.
            </p>
            {confirmed
              ? null
              : confirm("Turning on two-factor authentication shows a setup key, and whoever has it can add it to their own app.")}
          </div>
        )}
      </TwoFactorFlow>
    </div>
  );
}
