// The run's Resend stand-in (resend-stand-in.mjs, started by playwright.config.ts), read and
// scripted over HTTP. Both workers share it: select by a recipient (or a prefix) of the test's
// own, never read or script everything.
import type { DeliveredMessage, RecordedRequest, ScriptedAnswer } from "./resend-stand-in.mjs";
import { E2E } from "./settings";

export type { DeliveredMessage, RecordedRequest, ScriptedAnswer };

/** `to` is one address, or with `{ prefix: true }` the start of every address wanted. */
type Selection = { prefix?: boolean };

async function read<T>(list: "requests" | "messages", to: string, options: Selection): Promise<T[]> {
  const response = await fetch(`${E2E.resendUrl}/__test/${list}?${options.prefix ? "prefix" : "to"}=${encodeURIComponent(to)}`);
  if (!response.ok) throw new Error(`stand-in GET /__test/${list} answered ${response.status}`);
  return (await response.json()) as T[];
}

export const standIn = {
  /** Every send to `to` (delivered or not), in order of arrival. */
  requests: (to: string, options: Selection = {}) => read<RecordedRequest>("requests", to, options),
  /** Every message delivered to `to`, in order. */
  messages: (to: string, options: Selection = {}) => read<DeliveredMessage>("messages", to, options),
  /** The next answers for sends to `to`; after them, the usual ones. */
  async script(to: string, answers: ScriptedAnswer[]): Promise<void> {
    const response = await fetch(`${E2E.resendUrl}/__test/script`, { method: "POST", body: JSON.stringify({ to, answers }) });
    if (!response.ok) throw new Error(`stand-in POST /__test/script answered ${response.status}`);
  },
};
