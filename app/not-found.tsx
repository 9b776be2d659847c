import type { Metadata } from "next";
import Link from "next/link";

export const metadata: Metadata = { title: "Page not found" };

export default function NotFound() {
  return (
    <div className="card stack" data-testid="not-found">
      <h1>Page not found</h1>
      <p>There is no page at this address. If you followed a link from an email, copy the whole link into your browser.</p>
      <p className="links">
        <Link href="/">Home</Link>
        <Link href="/login">Sign in</Link>
        <Link href="/forgot-password">Forgot your password?</Link>
      </p>
    </div>
  );
}
