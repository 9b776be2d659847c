"use client";

// Next's built-in error page styles itself inline, which the pages' CSP (no inline styles)
// refuses. The error itself is never shown: its message may carry internals.
export default function ErrorPage({ reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <div className="card stack">
      <h1>Something went wrong</h1>
      <p>Please try again in a moment.</p>
      <p>
        <button type="button" onClick={reset}>
          Try again
        </button>
      </p>
    </div>
  );
}
