import type { Metadata } from "next";
import { headers } from "next/headers";
import Link from "next/link";
import { TokenProblemCard } from "@/app/_components/token-problem";
import { inspectEmailChangeToken } from "@/lib/accounts/change-email";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { auditLinkRefusal } from "@/lib/link-refusals";
import { CHANGE_PROBLEMS } from "../problems";
import { ConfirmEmailChangeForm } from "./confirm-email-change-form";

export const metadata: Metadata = {
  title: "Confirm your new email address",
  robots: { index: false, follow: false },
  referrer: "no-referrer",
};

// Opening the link only shows a form: mail scanners open links, and only the account's password
// with it changes the address.
export default async function ConfirmEmailChangePage({
  params,
  searchParams,
}: {
  params: Promise<{ token: string }>;
  searchParams: Promise<{ done?: string }>;
}) {
  const [{ token }, { done }] = await Promise.all([params, searchParams]);
  const db = await getDb();
  const result = await inspectEmailChangeToken(db, token);

  if (done === "1" && result.status === "used") {
    return (
      <div className="card stack" data-token-status="done">
        <h1>Your email address is changed</h1>
        <p>Sign-in, password resets and notices now use the new address. Every other device has been signed out.</p>
        <p>
          <Link className="button-link" href="/account">
            Go to your account
          </Link>
        </p>
      </div>
    );
  }
  if (result.status !== "valid") {
    await auditLinkRefusal(db, "email_change", result.status, requestContext(await headers()));
    const copy = CHANGE_PROBLEMS[result.status];
    return (
      <TokenProblemCard
        status={result.status}
        title={copy.title}
        body={copy.body}
        action={{ href: "/account/email", label: "Change your email address" }}
      />
    );
  }
  return (
    <div className="card stack" data-token-status="valid">
      <h1>Confirm your new email address</h1>
      <p>
        Make <strong>{result.maskedEmail}</strong> the address of your Rekey account. Enter the account&apos;s password: the link alone
        changes nothing.
      </p>
      <ConfirmEmailChangeForm token={token} />
    </div>
  );
}
