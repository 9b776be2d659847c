import { resendVerificationAction } from "@/app/account/actions";
import { noteDatabaseError } from "@/db/availability";
import { currentSession } from "@/lib/auth/current";

/** Shown to a signed-in user whose address is not confirmed yet. */
export async function VerifyBanner() {
  // In the root layout, so it also renders around the "temporarily unavailable" page: an
  // outage hides the banner instead of breaking that page too.
  const session = await currentSession().catch((error: unknown) => {
    if (noteDatabaseError(error)) return null;
    throw error;
  });
  if (!session || session.user.emailVerified) return null;
  return (
    <div className="banner" role="region" aria-label="Email not confirmed">
      <p>
        Please confirm your email address: we sent a link to <strong>{session.user.email}</strong>. You need a confirmed
        address to recover your account.
      </p>
      <form action={resendVerificationAction}>
        <button type="submit" className="secondary">
          Resend verification email
        </button>
      </form>
    </div>
  );
}
