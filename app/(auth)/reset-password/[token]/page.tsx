import type { Metadata } from "next";
import Link from "next/link";
import { headers } from "next/headers";
import { TokenProblemCard } from "@/app/_components/token-problem";
import { getDb } from "@/lib/db";
import { requestContext } from "@/lib/client-ip";
import { auditTokenProblem, inspectResetToken } from "@/lib/recovery/reset";
import { ResetPasswordForm, type SecondFactorMethod } from "./reset-password-form";
import { RESET_LINK_PROBLEMS } from "./token-problems";

export const metadata: Metadata = {
  title: "Choose a new password",
  robots: { index: false, follow: false },
  referrer: "no-referrer",
};

/** The second factor the form asks for: the one picked by its link if the account has it, else a passkey first, then the app's code. */
function chosenMethod(picked: string | string[] | undefined, factors: { totp: boolean; passkey: boolean }): SecondFactorMethod {
  if (picked === "recovery") return "recovery";
  if (picked === "totp" && factors.totp) return "totp";
  if (picked === "passkey" && factors.passkey) return "passkey";
  if (factors.passkey) return "passkey";
  return factors.totp ? "totp" : "recovery";
}

// Opening the link never consumes the token: mail scanners fetch links (GET and HEAD, several
// times) before the person does. Only the form's POST spends it.
export default async function ResetPasswordPage({
  params,
  searchParams,
}: {
  params: Promise<{ token: string }>;
  searchParams: Promise<{ method?: string | string[] }>;
}) {
  const [{ token }, { method }] = await Promise.all([params, searchParams]);
  const db = await getDb();
  const result = await inspectResetToken(db, token);

  if (result.status !== "valid") {
    const requestHeaders = await headers();
    await auditTokenProblem(db, result.status, requestContext(requestHeaders));
    const copy = RESET_LINK_PROBLEMS[result.status];
    return (
      <TokenProblemCard
        status={result.status}
        title={copy.title}
        body={copy.body}
        action={{ href: "/forgot-password", label: "Request a new link" }}
      >
        <p>
          <Link href="/login">Back to sign in</Link>
        </p>
      </TokenProblemCard>
    );
  }

  return (
    <div className="card stack" data-token-status="valid">
      <h1>Choose a new password</h1>
      <p className="lead">
        For the account <strong data-testid="masked-email">{result.maskedEmail}</strong>. Every device signed in to this account will be
        signed out.
      </p>
      {result.secondFactorRequired ? (
        <p>
          This account uses two-factor authentication: a reset link alone is not enough, so{" "}
          {result.secondFactors.passkey ? "use its passkey or enter a code too." : "enter a code too."}
        </p>
      ) : null}
      <ResetPasswordForm
        token={token}
        secondFactor={result.secondFactorRequired ? chosenMethod(method, result.secondFactors) : null}
        others={result.secondFactors}
      />
    </div>
  );
}
