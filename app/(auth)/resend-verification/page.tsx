import type { Metadata } from "next";
import Link from "next/link";
import { ResendVerificationForm } from "./resend-verification-form";

export const metadata: Metadata = { title: "Send the confirmation link again" };

export default function ResendVerificationPage() {
  return (
    <div className="card stack">
      <h1>Send the confirmation link again</h1>
      <p>An account can be used once its address is confirmed with the emailed link and the password chosen when it was created.</p>
      <ResendVerificationForm />
      <p className="links">
        <Link href="/forgot-password">Forgot the password? Reset it: that confirms the address too</Link>
        <Link href="/login">Back to sign in</Link>
      </p>
    </div>
  );
}
