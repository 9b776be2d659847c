// A local stand-in for Resend's HTTP API (POST /emails): the app's real `resend` SDK talks to it
// through RESEND_BASE_URL. One implementation for every test: vitest starts it in-process with
// createResendStandIn(); Playwright and the bench scripts run this file as a process
// (`node e2e/support/resend-stand-in.mjs`, configured by RESEND_STAND_IN_* variables) and reach
// its records and scripts over HTTP (/__test/…). Types: resend-stand-in.d.mts.
//
// What it answers, per message:
// - a scripted answer, when the test scripted one for a recipient (in-process `script()`, or
//   POST /__test/script {to, answers}): a status (500, 429 with Retry-After, 422…), a delay
//   before answering, or no answer at all ("hang");
// - otherwise the recipient's mode: set in-process (`setMode`, `setModeFor`), or by its address:
//   "fail-…" gets a 500, "hang-…" never gets an answer;
// - otherwise 200 with an id. Like Resend, a second request with an idempotency key already
//   delivered gets the first id and no second message.
// Every request is recorded (GET /__test/requests), every delivered message kept (GET
// /__test/messages); `?to=` selects one recipient, `?prefix=` every address starting with it.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** The body of a "fail" answer. */
export const STAND_IN_ERROR = Object.freeze({
  statusCode: 500,
  name: "internal_server_error",
  message: "The stand-in was told to fail.",
});

const PREFIX_MODES = [
  ["hang-", "hang"],
  ["fail-", "fail"],
];

function send(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function readBody(req) {
  return new Promise((resolveBody, reject) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => resolveBody(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** `answers` as scripted over HTTP or in-process: "hang" and { hang: true } are the same. */
function normaliseAnswers(answers) {
  return answers.map((answer) => (answer === "hang" ? { hang: true } : { ...answer }));
}

function matching(list, query) {
  const to = query.get("to")?.toLowerCase();
  const prefix = query.get("prefix")?.toLowerCase();
  if (to) return list.filter((entry) => entry.to.some((t) => t.toLowerCase() === to));
  if (prefix) return list.filter((entry) => entry.to.some((t) => t.toLowerCase().startsWith(prefix)));
  return list;
}

/**
 * Starts a stand-in on 127.0.0.1:`port` (0: any free port). `apiKey`, when given, is the only
 * key it accepts (401 otherwise); `delayMs` delays every answer; `keep: false` records nothing
 * (the bench sends tens of thousands of messages and reads none of them back).
 */
export async function createResendStandIn({ port = 0, apiKey, delayMs = 0, keep = true } = {}) {
  let defaultMode = "ok";
  const perRecipient = new Map();
  const scripts = new Map();
  const requests = [];
  const messages = [];

  const modeOf = (recipient) => perRecipient.get(recipient) ?? PREFIX_MODES.find(([prefix]) => recipient.startsWith(prefix))?.[1];

  async function handleEmail(req, res, path) {
    let body;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return send(res, 422, { statusCode: 422, name: "validation_error", message: "The body is not JSON." });
    }
    if (apiKey !== undefined && req.headers.authorization !== `Bearer ${apiKey}`) {
      return send(res, 401, { statusCode: 401, name: "missing_api_key", message: "Wrong API key." });
    }
    const to = [body?.to].flat().filter((t) => typeof t === "string");
    const recipients = to.map((t) => t.toLowerCase());
    // Each recipient's script moves on by one; the first recipient with an answer decides.
    const scripted = recipients.map((r) => scripts.get(r)?.shift()).find((a) => a !== undefined);
    const modes = recipients.map(modeOf);
    const mode =
      scripted && (scripted.hang || (scripted.status && scripted.status !== 200))
        ? "scripted"
        : (modes.find((m) => m === "hang") ?? modes.find((m) => m === "fail") ?? modes.find((m) => m) ?? defaultMode);
    const idempotencyKey = req.headers["idempotency-key"] ?? null;
    const recorded = {
      method: req.method,
      path,
      headers: req.headers,
      body,
      to,
      idempotencyKey,
      mode,
      status: null,
      receivedAt: Date.now(),
    };
    if (keep) requests.push(recorded);

    if (scripted?.hang || (mode === "hang" && !scripted?.status)) return; // never answers
    const wait = scripted?.delayMs ?? delayMs;
    if (wait) await new Promise((r) => setTimeout(r, wait));
    if (mode === "scripted") {
      recorded.status = scripted.status;
      const headers = scripted.retryAfter !== undefined ? { "retry-after": String(scripted.retryAfter) } : {};
      const name = scripted.status === 429 ? "rate_limit_exceeded" : "scripted_error";
      return send(res, scripted.status, { statusCode: scripted.status, name, message: "Scripted by the test." }, headers);
    }
    if (mode === "fail") {
      recorded.status = STAND_IN_ERROR.statusCode;
      return send(res, STAND_IN_ERROR.statusCode, STAND_IN_ERROR);
    }
    recorded.status = 200;
    const earlier = idempotencyKey ? messages.find((m) => m.idempotencyKey === idempotencyKey) : undefined;
    recorded.id = earlier?.id ?? randomUUID();
    if (!earlier && keep) {
      messages.push({
        id: recorded.id,
        to,
        from: body.from,
        subject: body.subject,
        html: body.html,
        text: body.text,
        idempotencyKey,
        receivedAt: recorded.receivedAt,
      });
    }
    return send(res, 200, { id: recorded.id });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const route = `${req.method} ${url.pathname}`;
    if (route === "POST /emails") return void handleEmail(req, res, url.pathname);
    if (route === "GET /__health") return send(res, 200, { ok: true });
    if (route === "GET /__test/requests") return send(res, 200, matching(requests, url.searchParams));
    if (route === "GET /__test/messages") return send(res, 200, matching(messages, url.searchParams));
    if (route === "POST /__test/script") {
      return void readBody(req)
        .then((raw) => {
          const { to, answers } = JSON.parse(raw);
          standIn.script(String(to), answers);
          send(res, 200, { ok: true });
        })
        .catch(() => send(res, 400, { statusCode: 400, name: "bad_script", message: 'Expected {"to": …, "answers": […]}.' }));
    }
    send(res, 404, { statusCode: 404, name: "not_found", message: `${route} is not stood in for.` });
  });

  await new Promise((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolveListen());
  });

  const standIn = {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    messages,
    setMode(mode) {
      defaultMode = mode;
    },
    setModeFor(recipient, mode) {
      perRecipient.set(recipient.toLowerCase(), mode);
    },
    script(recipient, answers) {
      scripts.set(recipient.toLowerCase(), normaliseAnswers(answers));
    },
    reset() {
      defaultMode = "ok";
      perRecipient.clear();
      scripts.clear();
      requests.length = 0;
      messages.length = 0;
    },
    close: () =>
      new Promise((resolveClose, reject) => {
        // Hung requests keep their sockets open; end them so close() can finish.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolveClose()));
      }),
  };
  return standIn;
}

// Run as a script: the process Playwright's webServer and the bench scripts start.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const standIn = await createResendStandIn({
    port: Number(process.env.RESEND_STAND_IN_PORT ?? 3101),
    apiKey: process.env.RESEND_STAND_IN_API_KEY ?? "re_e2e_stand_in",
    // The bench answers every message after a provider-like delay (Resend takes tens of ms).
    delayMs: Number(process.env.RESEND_STAND_IN_DELAY_MS ?? 0),
    keep: process.env.RESEND_STAND_IN_KEEP !== "0",
  });
  console.log(`resend stand-in on ${standIn.url}`);
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => void standIn.close().finally(() => process.exit(0)));
}
