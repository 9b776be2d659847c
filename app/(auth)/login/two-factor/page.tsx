import type { Metadata } from "next";
import { cookies } from "next/headers";
import Link from "next/link";
import { FormAlert } from "@/app/_components/fields";
import { getDb } from "@/lib/db";
import { signInChallengeCookieName } from "@/lib/auth/cookie-names";
import { safeCallbackPath } from "@/lib/safe-redirect";
import { secondFactorsOf } from "@/lib/second-factor/second-factors";
import { findSignInChallenge } from "@/lib/second-factor/sign-in-step";
import type { SecondStepMethod } from "./paths";
import { PasskeySecondStep } from "./passkey-second-step";
import { SecondStepForm } from "./second-step-form";

export const metadata: Metadata = { title: "Two-factor authentication" };

export default async function SecondStepPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const callbackUrl = safeCallbackPath(params.callbackUrl);
  const token = (await cookies()).get(signInChallengeCookieName())?.value;
  const db = await getDb();
  const pending = token ? await findSignInChallenge(db, token) : null;

  if (!pending) {
    return (
      <div className="card stack">
        <h1>Two-factor authentication</h1>
        <FormAlert tone="error">
          <p data-testid="second-step-ended">
            {token
              ? "This sign-in has expired or already ended: the code must be entered within 5 minutes of the password. Sign in again."
              : "There is no sign-in waiting for a code in this browser. Sign in again."}
          </p>
        </FormAlert>
        <p>
          <Link href={`/login?${new URLSearchParams({ callbackUrl })}`}>Sign in again</Link>
        </p>
      </div>
    );
  }
  const factors = await secondFactorsOf(db, pending.userId);
  // Without two-factor (a passkey-only account) the codes that work are recovery codes.
  const method: SecondStepMethod = params.method === "recovery" || !factors.totp ? "recovery" : "app";
  return (
    <div className="card stack">
      <h1>Two-factor authentication</h1>
      <p className="lead">
        {factors.passkey
          ? `Your password was right. Use your passkey, or enter ${method === "recovery" ? "one of your recovery codes" : "the code from your authenticator app"}, to finish signing in.`
          : method === "recovery"
            ? "Your password was right. Enter one of your recovery codes to finish signing in."
            : "Your password was right. Enter the code from your authenticator app to finish signing in."}
      </p>
      {factors.passkey ? <PasskeySecondStep callbackUrl={callbackUrl} /> : null}
      {/* Keyed by method: switching starts a fresh form state. */}
      <SecondStepForm key={method} method={method} callbackUrl={callbackUrl} totp={factors.totp} />
    </div>
  );
}
