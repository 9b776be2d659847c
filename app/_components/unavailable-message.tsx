import type { ReactNode } from "react";

/** The "temporarily unavailable" card: the 503 page and the error boundaries show the same words. */
export function UnavailableMessage({ children }: { children?: ReactNode }) {
  return (
    <div className="card stack" data-testid="unavailable">
      <h1>Temporarily unavailable</h1>
      <p>Rekey cannot handle your request right now. Nothing you sent was lost or changed.</p>
      <p>Please try again in a moment.</p>
      {children}
    </div>
  );
}
