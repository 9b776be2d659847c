// A local stand-in for Resend's HTTP API: the app's real `resend` SDK talks to it through
// RESEND_BASE_URL. It keeps every message in memory for the tests to read.
// Recipients whose local part starts with "fail-" get a 500; "hang-" never get an answer.
// Tests script other answers per recipient (POST /__test/script): a status (500, 429 with
// Retry-After, 422…), a delay before answering, or no answer at all. `?prefix=` selects
// every address that starts with it. Like Resend, a second
// request with an idempotency key already delivered is answered without a second message.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";

const port = Number(process.env.RESEND_STAND_IN_PORT ?? 3101);
// The bench answers every message after a provider-like delay (Resend takes tens of ms).
const defaultDelayMs = Number(process.env.RESEND_STAND_IN_DELAY_MS ?? 0);
// The bench sends tens of thousands of messages and reads none of them back.
const keepMessages = process.env.RESEND_STAND_IN_KEEP !== "0";
const messages = [];
/** Every POST /emails, delivered or not: { to, idempotencyKey, status, receivedAt }. */
const attempts = [];
/** recipient → answers still to give, in order: { status?, retryAfter?, delayMs?, hang? }. */
const scripts = new Map();

function send(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let raw = "";
    req.on("data", (chunk) => (raw += chunk));
    req.on("end", () => {
      try {
        resolve(JSON.parse(raw));
      } catch (error) {
        reject(error);
      }
    });
  });
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
  if (req.method === "GET" && url.pathname === "/__health") return send(res, 200, { ok: true });
  if (req.method === "GET" && (url.pathname === "/__test/messages" || url.pathname === "/__test/attempts")) {
    const list = url.pathname === "/__test/messages" ? messages : attempts;
    const to = url.searchParams.get("to");
    const prefix = url.searchParams.get("prefix");
    if (to) return send(res, 200, list.filter((m) => m.to.includes(to)));
    if (prefix) return send(res, 200, list.filter((m) => m.to.some((t) => String(t).startsWith(prefix))));
    return send(res, 200, list);
  }
  if (req.method === "POST" && url.pathname === "/__test/script") {
    const { to, answers } = await readJson(req);
    scripts.set(String(to).toLowerCase(), [...answers]);
    return send(res, 200, { ok: true });
  }
  if (req.method === "POST" && url.pathname === "/emails") {
    let body;
    try {
      body = await readJson(req);
    } catch {
      return send(res, 422, { name: "validation_error", message: "Invalid JSON", statusCode: 422 });
    }
    if (req.headers.authorization !== "Bearer re_e2e_stand_in") {
      return send(res, 401, { name: "missing_api_key", message: "Wrong API key", statusCode: 401 });
    }
    const to = [body.to].flat();
    const idempotencyKey = req.headers["idempotency-key"] ?? null;
    const attempt = { to, idempotencyKey, status: null, receivedAt: new Date().toISOString() };
    if (keepMessages) attempts.push(attempt);
    const scripted = to.map((t) => scripts.get(String(t).toLowerCase())?.shift()).find((a) => a !== undefined);
    if (to.some((t) => String(t).startsWith("hang-")) || scripted?.hang) return; // never answers
    const delayMs = scripted?.delayMs ?? defaultDelayMs;
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    if (scripted?.status && scripted.status !== 200) {
      attempt.status = scripted.status;
      const name = scripted.status === 429 ? "rate_limit_exceeded" : scripted.status >= 500 ? "internal_server_error" : "validation_error";
      const headers = scripted.retryAfter ? { "retry-after": String(scripted.retryAfter) } : {};
      return send(res, scripted.status, { name, message: "Scripted by the test", statusCode: scripted.status }, headers);
    }
    if (to.some((t) => String(t).startsWith("fail-"))) {
      attempt.status = 500;
      return send(res, 500, { name: "internal_server_error", message: "Stand-in failure", statusCode: 500 });
    }
    attempt.status = 200;
    const earlier = idempotencyKey ? messages.find((m) => m.idempotencyKey === idempotencyKey) : undefined;
    if (earlier) return send(res, 200, { id: earlier.id });
    const id = randomUUID();
    if (keepMessages) messages.push({
      id,
      to,
      from: body.from,
      subject: body.subject,
      html: body.html,
      text: body.text,
      idempotencyKey,
      receivedAt: new Date().toISOString(),
    });
    return send(res, 200, { id });
  }
  send(res, 404, { name: "not_found", message: "Not found", statusCode: 404 });
});

server.listen(port, "127.0.0.1", () => console.log(`resend stand-in on http://127.0.0.1:${port}`));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
