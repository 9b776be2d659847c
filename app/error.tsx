"use client";

import { UnavailableMessage } from "./_components/unavailable-message";

// Production builds hide the error's message from the browser, so this cannot tell an outage
// from a bug; what most often lands here is a dependency failing mid-request, and for either
// "try again in a moment" is the honest advice. proxy.ts answers known outages with a real 503.
export default function ErrorPage({ reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <UnavailableMessage>
      <p>
        <button type="button" className="secondary" onClick={() => reset()}>
          Try again
        </button>
      </p>
    </UnavailableMessage>
  );
}
