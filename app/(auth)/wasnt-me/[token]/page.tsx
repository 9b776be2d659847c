import type { Metadata } from "next";
import { TokenButtonForm, TokenLinkPage } from "@/app/_components/token-link-page";
import { getDb } from "@/lib/db";
import { inspectReportToken } from "@/lib/recovery/wasnt-me";
import { reportPasswordChangeAction } from "./actions";

export const metadata: Metadata = { title: "Secure your account", robots: { index: false, follow: false }, referrer: "no-referrer" };

const PROBLEMS = {
  expired: { title: "This link has expired", body: "If your password was changed without you, reset it now." },
  used: {
    title: "This link has already been used",
    body: "Your account was already secured and a reset link was sent to your email address.",
  },
  invalid: {
    title: "This link is not valid",
    body: "Copy the whole link from the email. If your password was changed without you, reset it now.",
  },
} as const;

export default async function WasntMePage({
  params,
  searchParams,
}: {
  params: Promise<{ token: string }>;
  searchParams: Promise<{ done?: string }>;
}) {
  const [{ token }, { done }] = await Promise.all([params, searchParams]);
  const result = await inspectReportToken(await getDb(), token);
  return (
    <TokenLinkPage
      status={result.status}
      link="password_change_report"
      justDone={done === "1"}
      done={{
        title: "Your account is secured",
        body: (
          <>
            <p>Every device has been signed out and the password that was set can no longer be used.</p>
            <p>We sent a link to choose a new password to your email address. Check your inbox.</p>
          </>
        ),
      }}
      problems={PROBLEMS}
      problemAction={() => ({ href: "/forgot-password", label: "Reset your password" })}
    >
      <h1>Wasn&apos;t you?</h1>
      <p>If someone else changed the password of your Rekey account or signed in to it, secure it now. This will:</p>
      <ul>
        <li>sign out every device, including any the other person uses;</li>
        <li>lock the password that was set, so it no longer signs in;</li>
        <li>send a link to choose a new password to your email address.</li>
      </ul>
      <TokenButtonForm action={reportPasswordChangeAction} token={token} tone="danger">
        Secure my account
      </TokenButtonForm>
    </TokenLinkPage>
  );
}
