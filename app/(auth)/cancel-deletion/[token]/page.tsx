import type { Metadata } from "next";
import { headers } from "next/headers";
import { TokenProblemCard } from "@/app/_components/token-problem";
import { inspectDeletionCancelToken } from "@/lib/accounts/delete-account";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { auditLinkRefusal } from "@/lib/link-refusals";
import { cancelDeletionAction } from "./actions";

export const metadata: Metadata = { title: "Cancel account deletion", robots: { index: false, follow: false }, referrer: "no-referrer" };

const PROBLEMS = {
  expired: {
    title: "This link has expired",
    body: "The time to cancel the deletion has passed, so the account is being erased. You can create a new account.",
  },
  used: {
    title: "This link has already been used",
    body: "The deletion was already cancelled, and a link to choose a new password was sent to your email address.",
  },
  invalid: {
    title: "This link is not valid",
    body: "Copy the whole link from the email. If the account has been erased already, you can create a new one.",
  },
} as const;

// Opening the link changes nothing (mail scanners open links); the button does.
export default async function CancelDeletionPage({
  params,
  searchParams,
}: {
  params: Promise<{ token: string }>;
  searchParams: Promise<{ done?: string }>;
}) {
  const [{ token }, { done }] = await Promise.all([params, searchParams]);
  const db = await getDb();
  const result = await inspectDeletionCancelToken(db, token);

  if (done === "1" && result.status === "used") {
    return (
      <div className="card stack" data-token-status="done">
        <h1>Your account is back</h1>
        <p>The deletion is cancelled. For your safety, your old password no longer works and nothing is signed in.</p>
        <p>We sent a link to choose a new password to your email address. Check your inbox, then sign in with the new password.</p>
      </div>
    );
  }
  if (result.status !== "valid") {
    await auditLinkRefusal(db, "account_deletion_cancel", result.status, requestContext(await headers()));
    const copy = PROBLEMS[result.status];
    const action = result.status === "used" ? { href: "/login", label: "Sign in" } : { href: "/register", label: "Create an account" };
    return <TokenProblemCard status={result.status} title={copy.title} body={copy.body} action={action} />;
  }
  return (
    <div className="card stack" data-token-status="valid">
      <h1>Cancel the deletion of your account?</h1>
      <p>Your Rekey account was deleted and will be erased for good when this link expires. Cancelling it:</p>
      <ul>
        <li>brings your account back as it was;</li>
        <li>retires its old password (whoever deleted it may know it), so nothing is signed in;</li>
        <li>sends a link to choose a new password to your email address.</li>
      </ul>
      <form action={cancelDeletionAction}>
        <input type="hidden" name="token" value={token} />
        <button type="submit" className="primary">
          Cancel the deletion
        </button>
      </form>
    </div>
  );
}
