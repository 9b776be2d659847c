import type { Metadata } from "next";
import { headers } from "next/headers";
import { TokenProblemCard } from "@/app/_components/token-problem";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { auditLinkRefusal } from "@/lib/link-refusals";
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

// Opening the link changes nothing (mail scanners open links); the button does.
export default async function WasntMePage({
  params,
  searchParams,
}: {
  params: Promise<{ token: string }>;
  searchParams: Promise<{ done?: string }>;
}) {
  const [{ token }, { done }] = await Promise.all([params, searchParams]);
  const db = await getDb();
  const result = await inspectReportToken(db, token);

  if (done === "1" && result.status === "used") {
    return (
      <div className="card stack" data-token-status="done">
        <h1>Your account is secured</h1>
        <p>Every device has been signed out and the password that was set can no longer be used.</p>
        <p>We sent a link to choose a new password to your email address. Check your inbox.</p>
      </div>
    );
  }
  if (result.status !== "valid") {
    await auditLinkRefusal(db, "password_change_report", result.status, requestContext(await headers()));
    const copy = PROBLEMS[result.status];
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
      <p>If someone else changed the password of your Rekey account or signed in to it, secure it now. This will:</p>
      <ul>
        <li>sign out every device, including any the other person uses;</li>
        <li>lock the password that was set, so it no longer signs in;</li>
        <li>send a link to choose a new password to your email address.</li>
      </ul>
      <form action={reportPasswordChangeAction}>
        <input type="hidden" name="token" value={token} />
        <button type="submit" className="danger">
          Secure my account
        </button>
      </form>
    </div>
  );
}
