// A local stand-in for Resend's HTTP API: the app's real `resend` SDK talks to it through
// RESEND_BASE_URL. It keeps every message in memory for the tests to read.
// Recipients whose local part starts with "fail-" get a 500; "hang-" never get an answer.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";

const port = Number(process.env.RESEND_STAND_IN_PORT ?? 3101);
const messages = [];

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
  if (req.method === "GET" && url.pathname === "/__health") return send(res, 200, { ok: true });
  if (req.method === "GET" && url.pathname === "/__test/messages") {
    const to = url.searchParams.get("to");
    return send(res, 200, to ? messages.filter((m) => m.to.includes(to)) : messages);
  }
  if (req.method === "POST" && url.pathname === "/emails") {
    let raw = "";
    req.on("data", (chunk) => (raw += chunk));
    req.on("end", () => {
      let body;
      try {
        body = JSON.parse(raw);
      } catch {
        return send(res, 422, { name: "validation_error", message: "Invalid JSON", statusCode: 422 });
      }
      if (req.headers.authorization !== "Bearer re_e2e_stand_in") {
        return send(res, 401, { name: "missing_api_key", message: "Wrong API key", statusCode: 401 });
      }
      const to = [body.to].flat();
      if (to.some((t) => String(t).startsWith("hang-"))) return; // never answers
      if (to.some((t) => String(t).startsWith("fail-"))) {
        return send(res, 500, { name: "internal_server_error", message: "Stand-in failure", statusCode: 500 });
      }
      const id = randomUUID();
      messages.push({
        id,
        to,
        from: body.from,
        subject: body.subject,
        html: body.html,
        text: body.text,
        idempotencyKey: req.headers["idempotency-key"] ?? null,
        receivedAt: new Date().toISOString(),
      });
      return send(res, 200, { id });
    });
    return;
  }
  send(res, 404, { name: "not_found", message: "Not found", statusCode: 404 });
});

server.listen(port, "127.0.0.1", () => console.log(`resend stand-in on http://127.0.0.1:${port}`));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
