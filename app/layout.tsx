import type { Metadata, Viewport } from "next";
import Link from "next/link";
import { connection } from "next/server";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Rekey", template: "%s · Rekey" },
  description: "Account recovery done right: sign in, reset a forgotten password, end old sessions.",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Every page is rendered per request: Next.js stamps this request's CSP nonce (set by
  // proxy.ts) on its scripts only at render time, so a prerendered page could run no script.
  await connection();
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <header className="site-header">
          <Link href="/" className="brand">
            Rekey
          </Link>
        </header>
        <main id="main">{children}</main>
      </body>
    </html>
  );
}
