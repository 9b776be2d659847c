// Types of resend-stand-in.mjs (plain JavaScript, so that Playwright's webServer and the bench
// scripts run it with node as it is).
import type { IncomingHttpHeaders } from "node:http";

/** ok: 200 with an id; fail: 500 STAND_IN_ERROR; hang: no answer ever; scripted: a scripted answer decided. */
export type StandInMode = "ok" | "fail" | "hang" | "scripted";

/**
 * One scripted answer: a status (with an optional Retry-After), a delay before the usual answer,
 * or no answer at all ("hang", or { hang: true }).
 */
export type ScriptedAnswer = "hang" | { status?: number; retryAfter?: string | number; delayMs?: number; hang?: boolean };

/** A POST /emails, whatever became of it (GET /__test/requests). */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  to: string[];
  idempotencyKey: string | null;
  mode: StandInMode;
  /** The status answered; null while (or when never) answered. */
  status: number | null;
  /** The id answered (200 only). */
  id?: string;
  /** Date.now() when it arrived. */
  receivedAt: number;
}

/** A message delivered: answered 200 for the first time under its idempotency key (GET /__test/messages). */
export interface DeliveredMessage {
  id: string;
  to: string[];
  from: string;
  subject: string;
  html: string;
  text: string;
  idempotencyKey: string | null;
  receivedAt: number;
}

export interface ResendStandInOptions {
  /** 0 (the default): any free port. */
  port?: number;
  /** The only API key accepted; any, when not given. */
  apiKey?: string;
  /** Every answer waits this long (scripted delays aside). */
  delayMs?: number;
  /** false: record no request and keep no message. */
  keep?: boolean;
}

export interface ResendStandIn {
  /** Origin to use as RESEND_BASE_URL, e.g. http://127.0.0.1:43127 (no trailing slash). */
  url: string;
  /** Every POST /emails, in order of arrival. */
  requests: RecordedRequest[];
  /** Every message delivered, in order. */
  messages: DeliveredMessage[];
  /** Mode for every recipient without one of its own (by setModeFor or its "fail-"/"hang-" prefix). */
  setMode(mode: StandInMode): void;
  /** Mode for messages to one address. */
  setModeFor(recipient: string, mode: StandInMode): void;
  /** The next answers for messages to one address, in order; after them, its mode applies. */
  script(recipient: string, answers: ScriptedAnswer[]): void;
  /** Back to "ok" for everyone, scripts, requests and messages forgotten. */
  reset(): void;
  close(): Promise<void>;
}

export declare const STAND_IN_ERROR: { readonly statusCode: 500; readonly name: "internal_server_error"; readonly message: string };

export declare function createResendStandIn(options?: ResendStandInOptions): Promise<ResendStandIn>;
