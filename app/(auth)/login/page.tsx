import type { Metadata } from "next";
import { FormAlert } from "@/app/_components/fields";
import { safeCallbackPath } from "@/lib/safe-redirect";
import { LoginForm } from "./login-form";
import { PasskeySignIn } from "./passkey-sign-in";

export const metadata: Metadata = { title: "Sign in" };

const NOTICES: Record<string, string> = {
  "password-reset": "Your password has been changed. Sign in with your new password.",
  "signed-out": "You have been signed out.",
  "all-signed-out": "Every session of every user has ended, yours too. Sign in again.",
};

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const callbackUrl = safeCallbackPath(params.callbackUrl);
  const notice = typeof params.notice === "string" ? NOTICES[params.notice] : undefined;
  return (
    <div className="card stack">
      <h1>Sign in</h1>
      {notice ? (
        <FormAlert tone="success">
          <p>{notice}</p>
        </FormAlert>
      ) : null}
      <LoginForm callbackUrl={callbackUrl} />
      <section className="stack" aria-labelledby="passkey-heading">
        <h2 id="passkey-heading">Or use a passkey</h2>
        <PasskeySignIn callbackUrl={callbackUrl} />
      </section>
    </div>
  );
}
