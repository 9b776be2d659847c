import type { Metadata } from "next";
import Link from "next/link";
import { TokenProblemCard } from "@/app/_components/token-problem";
import { getDb } from "@/db/client";
import { inspectVerificationToken } from "@/lib/email-verification";
import { verifyEmailAction } from "./actions";

export const metadata: Metadata = { title: "Confirm your email address", robots: { index: false, follow: false }, referrer: "no-referrer" };

const PROBLEMS = {
  expired: { title: "This link has expired", body: "Verification links work for 24 hours. Sign in and ask for a new one from your account page." },
  used: { title: "This link has already been used", body: "Your address may already be confirmed. Sign in to check." },
  invalid: { title: "This link is not valid", body: "It may be incomplete or mistyped. Copy the whole link from the email, or sign in and ask for a new one." },
} as const;

// Opening the link only shows a button: mail scanners open links, and only a person's POST
// confirms the address.
export default async function VerifyEmailPage({
  params,
  searchParams,
}: {
  params: Promise<{ token: string }>;
  searchParams: Promise<{ verified?: string }>;
}) {
  const [{ token }, { verified }] = await Promise.all([params, searchParams]);
  const result = await inspectVerificationToken(await getDb(), token);

  if (verified === "1" && result.status === "used") {
    return (
      <div className="card stack" data-token-status="verified">
        <h1>Your email address is confirmed</h1>
        <p>Thank you. Your account is ready.</p>
        <p>
          <Link className="button-link" href="/account">
            Go to your account
          </Link>
        </p>
      </div>
    );
  }
  if (result.status !== "valid") {
    const copy = PROBLEMS[result.status];
    return <TokenProblemCard status={result.status} title={copy.title} body={copy.body} action={{ href: "/login", label: "Sign in" }} />;
  }
  return (
    <div className="card stack" data-token-status="valid">
      <h1>Confirm your email address</h1>
      <p>
        Confirm that <strong>{result.maskedEmail}</strong> is your address to finish creating your account.
      </p>
      <form action={verifyEmailAction}>
        <input type="hidden" name="token" value={token} />
        <button type="submit" className="primary">
          Confirm email address
        </button>
      </form>
    </div>
  );
}
