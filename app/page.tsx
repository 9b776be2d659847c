import Link from "next/link";
import { currentSession } from "@/lib/auth/current";

export default async function HomePage() {
  const session = await currentSession();
  return (
    <div className="card stack">
      <h1>Rekey</h1>
      {session ? (
        <>
          <p>
            Signed in as <strong data-testid="signed-in-email">{session.user.email}</strong>.
          </p>
          <p>
            <Link href="/account">Go to your account</Link>
          </p>
        </>
      ) : (
        <>
          <p>You are not signed in.</p>
          <p className="links">
            <Link href="/login">Sign in</Link>
            <Link href="/register">Create an account</Link>
            <Link href="/forgot-password">Forgot your password?</Link>
          </p>
        </>
      )}
    </div>
  );
}
