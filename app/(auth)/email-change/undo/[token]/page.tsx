import type { Metadata } from "next";
import { FormAlert } from "@/app/_components/fields";
import { TokenButtonForm, TokenLinkPage } from "@/app/_components/token-link-page";
import { inspectEmailChangeUndoToken } from "@/lib/accounts/undo-email-change";
import { getDb } from "@/lib/db";
import { UNDO_PROBLEMS } from "../../problems";
import { undoEmailChangeAction } from "./actions";

export const metadata: Metadata = { title: "Undo the email change", robots: { index: false, follow: false }, referrer: "no-referrer" };

export default async function UndoEmailChangePage({
  params,
  searchParams,
}: {
  params: Promise<{ token: string }>;
  searchParams: Promise<{ done?: string; taken?: string }>;
}) {
  const [{ token }, { done, taken }] = await Promise.all([params, searchParams]);
  const result = await inspectEmailChangeUndoToken(await getDb(), token);
  return (
    <TokenLinkPage
      status={result.status}
      link="email_change"
      justDone={done === "1"}
      done={{
        title: "Your email address is back",
        body: (
          <>
            <p>Every device has been signed out and the password can no longer be used.</p>
            <p>We sent a link to choose a new password to this address. Check your inbox.</p>
          </>
        ),
      }}
      problems={UNDO_PROBLEMS}
      problemAction={() => ({ href: "/forgot-password", label: "Reset your password" })}
    >
      <h1>Wasn&apos;t you?</h1>
      {taken === "1" ? (
        <FormAlert tone="error">
          <p>Your old address now belongs to another Rekey account, so it cannot be put back. Contact support to recover your account.</p>
        </FormAlert>
      ) : null}
      <p>If someone else changed the email address of your Rekey account, undo it now. This will:</p>
      <ul>
        <li>
          put <strong>{result.status === "valid" ? result.maskedEmail : null}</strong> back as the account&apos;s address;
        </li>
        <li>sign out every device, including any the other person uses;</li>
        <li>lock the password, so it no longer signs in;</li>
        <li>send a link to choose a new password to that address.</li>
      </ul>
      <TokenButtonForm action={undoEmailChangeAction} token={token} tone="danger">
        Undo the change and secure my account
      </TokenButtonForm>
    </TokenLinkPage>
  );
}
