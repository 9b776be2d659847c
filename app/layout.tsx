import type { Metadata, Viewport } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Rekey", template: "%s · Rekey" },
  description: "Account recovery done right: sign in, reset a forgotten password, end old sessions.",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
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
