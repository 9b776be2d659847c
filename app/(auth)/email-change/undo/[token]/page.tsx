import type { Metadata } from "next";
import { headers } from "next/headers";
import { FormAlert } from "@/app/_components/fields";
import { TokenProblemCard } from "@/app/_components/token-problem";
import { inspectEmailChangeUndoToken } from "@/lib/accounts/undo-email-change";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { auditLinkRefusal } from "@/lib/link-refusals";
import { UNDO_PROBLEMS } from "../../problems";
import { undoEmailChangeAction } from "./actions";

export const metadata: Metadata = { title: "Undo the email change", robots: { index: false, follow: false }, referrer: "no-referrer" };

// Opening the link changes nothing (mail scanners open links); the button does.
export default async function UndoEmailChangePage({
  params,
  searchParams,
}: {
  params: Promise<{ token: string }>;
  searchParams: Promise<{ done?: string; taken?: string }>;
}) {
  const [{ token }, { done, taken }] = await Promise.all([params, searchParams]);
  const db = await getDb();
  const result = await inspectEmailChangeUndoToken(db, token);

  if (done === "1" && result.status === "used") {
    return (
      <div className="card stack" data-token-status="done">
        <h1>Your email address is back</h1>
        <p>Every device has been signed out and the password can no longer be used.</p>
        <p>We sent a link to choose a new password to this address. Check your inbox.</p>
      </div>
    );
  }
  if (result.status !== "valid") {
    await auditLinkRefusal(db, "email_change", result.status, requestContext(await headers()));
    const copy = UNDO_PROBLEMS[result.status];
    return (
      <TokenProblemCard
        status={result.status}
        title={copy.title}
        body={copy.body}
        action={{ href: "/forgot-password", label: "Reset your password" }}
      />
    );
  }
  return (
    <div className="card stack" data-token-status="valid">
      <h1>Wasn&apos;t you?</h1>
      {taken === "1" ? (
        <FormAlert tone="error">
          <p>Your old address now belongs to another Rekey account, so it cannot be put back. Contact support to recover your account.</p>
        </FormAlert>
      ) : null}
      <p>If someone else changed the email address of your Rekey account, undo it now. This will:</p>
      <ul>
        <li>
          put <strong>{result.maskedEmail}</strong> back as the account&apos;s address;
        </li>
        <li>sign out every device, including any the other person uses;</li>
        <li>lock the password, so it no longer signs in;</li>
        <li>send a link to choose a new password to that address.</li>
      </ul>
      <form action={undoEmailChangeAction}>
        <input type="hidden" name="token" value={token} />
        <button type="submit" className="danger">
          Undo the change and secure my account
        </button>
      </form>
    </div>
  );
}
