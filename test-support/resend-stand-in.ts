// A local HTTP server standing in for Resend's API (POST /emails), so tests drive the real
// `resend` SDK through lib/mail with RESEND_BASE_URL pointing here.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** ok: 200 {"id"}; fail: 500 with a JSON error; hang: never answers; scripted: see `script`. */
export type StandInMode = "ok" | "fail" | "hang" | "scripted";

/** One scripted answer: a status (with an optional Retry-After header) or no answer at all. */
export type ScriptedAnswer = { status: number; retryAfter?: string } | "hang";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** What the stand-in did with it. */
  mode: StandInMode;
  /** The id answered (ok mode only). */
  id?: string;
  /** The status answered, if any. */
  status?: number;
  receivedAt: number;
}

export interface ResendStandIn {
  /** Origin to use as RESEND_BASE_URL, e.g. http://127.0.0.1:43127 (no trailing slash). */
  url: string;
  requests: RecordedRequest[];
  /** Mode for every recipient without one of its own. */
  setMode(mode: StandInMode): void;
  /** Mode for messages to one address. */
  setModeFor(recipient: string, mode: StandInMode): void;
  /** The next answers for messages to one address, in order; after them, its mode applies. */
  script(recipient: string, answers: ScriptedAnswer[]): void;
  /** Back to "ok" for everyone, requests forgotten. */
  reset(): void;
  close(): Promise<void>;
}

export const STAND_IN_ERROR = {
  statusCode: 500,
  name: "internal_server_error",
  message: "The stand-in was told to fail.",
} as const;

function recipientsOf(body: Record<string, unknown>): string[] {
  const to = body.to;
  if (typeof to === "string") return [to];
  if (Array.isArray(to)) return to.filter((t): t is string => typeof t === "string");
  return [];
}

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(payload));
}

export async function startResendStandIn(): Promise<ResendStandIn> {
  let defaultMode: StandInMode = "ok";
  const perRecipient = new Map<string, StandInMode>();
  const scripts = new Map<string, ScriptedAnswer[]>();
  const requests: RecordedRequest[] = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      if (req.method !== "POST" || path !== "/emails") {
        sendJson(res, 404, { statusCode: 404, name: "not_found", message: `${req.method} ${path} is not stood in for` });
        return;
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      } catch {
        sendJson(res, 422, { statusCode: 422, name: "validation_error", message: "body is not JSON" });
        return;
      }
      const recipients = recipientsOf(body).map((r) => r.toLowerCase());
      const scripted = recipients.map((r) => scripts.get(r)?.shift()).find((a) => a !== undefined);
      const modes = recipients.map((r) => perRecipient.get(r));
      const mode = scripted ? "scripted" : (modes.find((m) => m === "hang") ?? modes.find((m) => m === "fail") ?? modes.find((m) => m) ?? defaultMode);
      const recorded: RecordedRequest = { method: req.method, path, headers: req.headers, body, mode, receivedAt: Date.now() };
      requests.push(recorded);
      if (scripted === "hang") return;
      if (scripted) {
        recorded.status = scripted.status;
        res.writeHead(scripted.status, { "content-type": "application/json", ...(scripted.retryAfter ? { "retry-after": scripted.retryAfter } : {}) });
        res.end(JSON.stringify({ statusCode: scripted.status, name: scripted.status === 429 ? "rate_limit_exceeded" : "scripted_error", message: "Scripted by the test." }));
        return;
      }
      if (mode === "hang") return;
      if (mode === "fail") {
        sendJson(res, 500, STAND_IN_ERROR);
        return;
      }
      recorded.id = randomUUID();
      recorded.status = 200;
      sendJson(res, 200, { id: recorded.id });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setMode(mode) {
      defaultMode = mode;
    },
    setModeFor(recipient, mode) {
      perRecipient.set(recipient.toLowerCase(), mode);
    },
    script(recipient, answers) {
      scripts.set(recipient.toLowerCase(), [...answers]);
    },
    reset() {
      defaultMode = "ok";
      perRecipient.clear();
      scripts.clear();
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Hung requests keep their sockets open; end them so close() can finish.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
