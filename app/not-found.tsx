import type { Metadata } from "next";
import Link from "next/link";

export const metadata: Metadata = { title: "Page not found" };

// Next's built-in 404 page styles itself inline, which the pages' CSP (no inline styles) refuses.
export default function NotFound() {
  return (
    <div className="card stack">
      <h1>Page not found</h1>
      <p>There is nothing at this address.</p>
      <p>
        <Link href="/">Go to the start page</Link>
      </p>
    </div>
  );
}
