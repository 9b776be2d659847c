import type { Metadata } from "next";
import { AccountLink, TokenLinkPage } from "@/app/_components/token-link-page";
import { inspectVerificationToken } from "@/lib/accounts/verify-email";
import { getDb } from "@/lib/db";
import { VERIFY_PROBLEMS } from "./problems";
import { VerifyEmailForm } from "./verify-email-form";

export const metadata: Metadata = { title: "Confirm your email address", robots: { index: false, follow: false }, referrer: "no-referrer" };

// Only a person's POST with the password chosen at registration confirms the address, never the link alone.
export default async function VerifyEmailPage({
  params,
  searchParams,
}: {
  params: Promise<{ token: string }>;
  searchParams: Promise<{ verified?: string }>;
}) {
  const [{ token }, { verified }] = await Promise.all([params, searchParams]);
  const result = await inspectVerificationToken(await getDb(), token);
  return (
    <TokenLinkPage
      status={result.status}
      link="email_verification"
      justDone={verified === "1"}
      done={{
        status: "verified",
        title: "Your email address is confirmed",
        body: (
          <>
            <p>Thank you. Your account is ready.</p>
            <AccountLink />
          </>
        ),
      }}
      problems={VERIFY_PROBLEMS}
      problemAction={(problem) =>
        problem === "used" ? { href: "/login", label: "Sign in" } : { href: "/resend-verification", label: "Send a new link" }
      }
    >
      <h1>Confirm your email address</h1>
      <p>
        Confirm that <strong>{result.status === "valid" ? result.maskedEmail : null}</strong> is your address to finish creating your
        account. Enter the password chosen when the account was created: the link alone does not confirm it.
      </p>
      <VerifyEmailForm token={token} />
    </TokenLinkPage>
  );
}
