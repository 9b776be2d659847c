"use client";

import "./globals.css";
import { UnavailableMessage } from "./_components/unavailable-message";

// Replaces the root layout when the layout itself fails, so it brings its own html and body.
export default function GlobalError({ reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <html lang="en">
      <body>
        <header className="site-header">
          {/* A full page load: the root layout (and with it the client router) has failed. */}
          {/* eslint-disable-next-line @next/next/no-html-link-for-pages */}
          <a href="/" className="brand">
            Rekey
          </a>
        </header>
        <main id="main">
          <UnavailableMessage>
            <p>
              <button type="button" className="secondary" onClick={() => reset()}>
                Try again
              </button>
            </p>
          </UnavailableMessage>
        </main>
      </body>
    </html>
  );
}
