import type { Metadata } from "next";
import { TokenButtonForm, TokenLinkPage } from "@/app/_components/token-link-page";
import { inspectDeletionCancelToken } from "@/lib/accounts/delete-account";
import { getDb } from "@/lib/db";
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

export default async function CancelDeletionPage({
  params,
  searchParams,
}: {
  params: Promise<{ token: string }>;
  searchParams: Promise<{ done?: string }>;
}) {
  const [{ token }, { done }] = await Promise.all([params, searchParams]);
  const result = await inspectDeletionCancelToken(await getDb(), token);
  return (
    <TokenLinkPage
      status={result.status}
      link="account_deletion_cancel"
      justDone={done === "1"}
      done={{
        title: "Your account is back",
        body: (
          <>
            <p>The deletion is cancelled. For your safety, your old password no longer works and nothing is signed in.</p>
            <p>We sent a link to choose a new password to your email address. Check your inbox, then sign in with the new password.</p>
          </>
        ),
      }}
      problems={PROBLEMS}
      problemAction={(problem) =>
        problem === "used" ? { href: "/login", label: "Sign in" } : { href: "/register", label: "Create an account" }
      }
    >
      <h1>Cancel the deletion of your account?</h1>
      <p>Your Rekey account was deleted and will be erased for good when this link expires. Cancelling it:</p>
      <ul>
        <li>brings your account back as it was;</li>
        <li>retires its old password (whoever deleted it may know it), so nothing is signed in;</li>
        <li>sends a link to choose a new password to your email address.</li>
      </ul>
      <TokenButtonForm action={cancelDeletionAction} token={token} tone="primary">
        Cancel the deletion
      </TokenButtonForm>
    </TokenLinkPage>
  );
}
