// The outbox transport as the tests' mailbox: each test gets its own directory, and links are
// read back out of the plain-text emails the app sent.
import { afterEach, beforeEach, vi } from "vitest";
import { overrideEnvForTests } from "@/lib/env";
import { readOutbox, type OutboxMessage } from "@/lib/mail/outbox";
import { freshOutboxDir } from "./reset-helpers";

/** The token in a verification email's link. */
export const VERIFY_LINK = /\/verify-email\/([A-Za-z0-9_-]{43})/;
/** The token in a password-changed email's "This wasn't me" link. */
export const REPORT_LINK = /\/wasnt-me\/([A-Za-z0-9_-]{43})/;

export interface TestOutbox {
  /** Re-applies the outbox transport with extra env overrides for this test. */
  configure(overrides?: Record<string, string | undefined>): void;
  /** Every message sent in this test, newest first. */
  all(): Promise<OutboxMessage[]>;
  /** Messages to one address, optionally with one subject. */
  to(email: string, subject?: string): Promise<OutboxMessage[]>;
}

/**
 * Registers hooks that point the mail transport at a fresh outbox directory before each test
 * and restore the environment (and delete the directory) after it.
 */
export function installTestOutbox(): TestOutbox {
  let outbox: { dir: string; remove: () => Promise<void> } | undefined;
  const dir = (): string => {
    if (!outbox) throw new Error("outbox not ready: use it inside a test");
    return outbox.dir;
  };
  const configure = (overrides: Record<string, string | undefined> = {}): void => {
    overrideEnvForTests({ RESEND_API_KEY: undefined, MAIL_OUTBOX_DIR: dir(), ...overrides });
  };

  beforeEach(async () => {
    outbox = await freshOutboxDir();
    configure();
    // The outbox transport prints a "[mail] …" line per message for developers; quiet here.
    vi.spyOn(console, "log").mockImplementation(() => {});
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    overrideEnvForTests({});
    await outbox?.remove();
    outbox = undefined;
  });

  return {
    configure,
    all: () => readOutbox(dir()),
    to: async (email, subject) =>
      (await readOutbox(dir())).filter((m) => m.to === email && (subject === undefined || m.subject === subject)),
  };
}

/** The token captured by `link` in a message's plain text; throws when there is none. */
export function tokenIn(message: OutboxMessage | undefined, link: RegExp): string {
  const match = message?.text.match(link);
  if (!match?.[1]) throw new Error(`no ${link} in: ${message?.text ?? "(no message)"}`);
  return match[1];
}

/** The whole link (scheme, host and path) matching `link` in a message's plain text. */
export function fullLinkIn(message: OutboxMessage | undefined, link: RegExp): string | undefined {
  const whole = new RegExp(`\\S*${link.source}`);
  return message?.text.match(whole)?.[0];
}
