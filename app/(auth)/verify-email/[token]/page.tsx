import type { Metadata } from "next";
import { headers } from "next/headers";
import Link from "next/link";
import { TokenProblemCard } from "@/app/_components/token-problem";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { auditLinkRefusal } from "@/lib/link-refusals";
import { inspectVerificationToken } from "@/lib/accounts/verify-email";
import { VERIFY_PROBLEMS } from "./problems";
import { VerifyEmailForm } from "./verify-email-form";

export const metadata: Metadata = { title: "Confirm your email address", robots: { index: false, follow: false }, referrer: "no-referrer" };

// Opening the link only shows a form: mail scanners open links, and only a person's POST with
// the password chosen at registration confirms the address.
export default async function VerifyEmailPage({
  params,
  searchParams,
}: {
  params: Promise<{ token: string }>;
  searchParams: Promise<{ verified?: string }>;
}) {
  const [{ token }, { verified }] = await Promise.all([params, searchParams]);
  const db = await getDb();
  const result = await inspectVerificationToken(db, token);

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
    await auditLinkRefusal(db, "email_verification", result.status, requestContext(await headers()));
    const copy = VERIFY_PROBLEMS[result.status];
    const action =
      result.status === "used" ? { href: "/login", label: "Sign in" } : { href: "/resend-verification", label: "Send a new link" };
    return <TokenProblemCard status={result.status} title={copy.title} body={copy.body} action={action} />;
  }
  return (
    <div className="card stack" data-token-status="valid">
      <h1>Confirm your email address</h1>
      <p>
        Confirm that <strong>{result.maskedEmail}</strong> is your address to finish creating your account. Enter the password chosen when
        the account was created: the link alone does not confirm it.
      </p>
      <VerifyEmailForm token={token} />
    </div>
  );
}
