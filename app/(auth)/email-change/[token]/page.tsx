import type { Metadata } from "next";
import { AccountLink, TokenLinkPage } from "@/app/_components/token-link-page";
import { inspectEmailChangeToken } from "@/lib/accounts/change-email";
import { getDb } from "@/lib/db";
import { CHANGE_PROBLEMS } from "../problems";
import { ConfirmEmailChangeForm } from "./confirm-email-change-form";

export const metadata: Metadata = {
  title: "Confirm your new email address",
  robots: { index: false, follow: false },
  referrer: "no-referrer",
};

// Only the account's password with the link changes the address, never the link alone.
export default async function ConfirmEmailChangePage({
  params,
  searchParams,
}: {
  params: Promise<{ token: string }>;
  searchParams: Promise<{ done?: string }>;
}) {
  const [{ token }, { done }] = await Promise.all([params, searchParams]);
  const result = await inspectEmailChangeToken(await getDb(), token);
  return (
    <TokenLinkPage
      status={result.status}
      link="email_change"
      justDone={done === "1"}
      done={{
        title: "Your email address is changed",
        body: (
          <>
            <p>Sign-in, password resets and notices now use the new address. Every other device has been signed out.</p>
            <AccountLink />
          </>
        ),
      }}
      problems={CHANGE_PROBLEMS}
      problemAction={() => ({ href: "/account/email", label: "Change your email address" })}
    >
      <h1>Confirm your new email address</h1>
      <p>
        Make <strong>{result.status === "valid" ? result.maskedEmail : null}</strong> the address of your Rekey account. Enter the
        account&apos;s password: the link alone changes nothing.
      </p>
      <ConfirmEmailChangeForm token={token} />
    </TokenLinkPage>
  );
}
