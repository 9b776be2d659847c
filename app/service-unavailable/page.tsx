import type { Metadata } from "next";
import { UnavailableMessage } from "../_components/unavailable-message";

export const metadata: Metadata = { title: "Temporarily unavailable", robots: { index: false, follow: false } };

// proxy.ts rewrites page requests here, with status 503 and Retry-After, while the database
// does not answer. Nothing on this page may need the database.
export default function ServiceUnavailablePage() {
  return <UnavailableMessage />;
}
