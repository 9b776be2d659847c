import { afterEach, describe, expect, it } from "vitest";
import { noteDatabaseError, resetAvailabilityForTests } from "@/lib/availability";
import { z } from "zod";
import { MAX_BODY_BYTES } from "./contract";
import { parseJsonBody, refuseCrossSite, routeHandlers } from "./http";

const Schema = z.object({ email: z.string().min(1, "Enter your email address.") });

function post(body: BodyInit | null, headers: Record<string, string> = { "content-type": "application/json" }): Request {
  return new Request("http://rekey.test/api/v1/x", { method: "POST", body, headers, duplex: "half" } as RequestInit);
}

async function failure(request: Request): Promise<{ status: number; body: unknown }> {
  const parsed = await parseJsonBody(request, Schema);
  if (parsed.ok) throw new Error("expected a failure");
  return { status: parsed.response.status, body: await parsed.response.json() };
}

/** A stream of `chunks` chunks of 1 KiB each, counting how many were pulled. */
function kibStream(chunks: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks) return controller.close();
      pulled++;
      controller.enqueue(new Uint8Array(1024).fill(0x20));
    },
  });
  return { stream, pulled: () => pulled };
}

describe("parseJsonBody", () => {
  it("parses a JSON object and ignores unknown fields", async () => {
    const parsed = await parseJsonBody(post(JSON.stringify({ email: "a@b.c", extra: 1 })), Schema);
    expect(parsed).toEqual({ ok: true, data: { email: "a@b.c" } });
  });

  it("stops reading a body without Content-Length as soon as it passes the cap: 413", async () => {
    const { stream, pulled } = kibStream(1024);
    expect(await failure(post(stream))).toMatchObject({ status: 413, body: { error: { code: "payload_too_large" } } });
    expect(pulled()).toBeLessThanOrEqual(MAX_BODY_BYTES / 1024 + 2);
  });

  it("accepts a body of exactly the cap", async () => {
    const json = JSON.stringify({ email: "a@b.c" });
    const parsed = await parseJsonBody(post(json + " ".repeat(MAX_BODY_BYTES - json.length)), Schema);
    expect(parsed.ok).toBe(true);
  });

  it("answers 413 at once for a declared Content-Length over the cap", async () => {
    const request = post("{}", { "content-type": "application/json", "content-length": String(MAX_BODY_BYTES + 1) });
    expect((await failure(request)).status).toBe(413);
  });

  it.each([["text/plain"], ["application/json; charset=utf-16"], ["application/jsonx"], [""]])(
    "refuses Content-Type %j with 415",
    async (type) => {
      const headers: Record<string, string> = type ? { "content-type": type } : {};
      expect(await failure(post("{}", headers))).toMatchObject({ status: 415, body: { error: { code: "unsupported_media_type" } } });
    },
  );

  it.each([['{"email": '], [""], [new Uint8Array([0x7b, 0xff, 0x7d])]])("answers 400 invalid_json for %j", async (body) => {
    expect(await failure(post(body))).toMatchObject({ status: 400, body: { error: { code: "invalid_json" } } });
  });

  it("answers 400 for a missing or mistyped field and 422 for a refused value, with fields", async () => {
    expect(await failure(post("{}"))).toEqual({
      status: 400,
      body: { error: { code: "validation_error", message: expect.any(String), fields: { email: [expect.any(String)] } } },
    });
    expect(await failure(post('{"email": ""}'))).toEqual({
      status: 422,
      body: { error: { code: "validation_error", message: expect.any(String), fields: { email: ["Enter your email address."] } } },
    });
    expect(await failure(post("[]"))).toEqual({
      status: 400,
      body: { error: { code: "validation_error", message: "The request body must be a JSON object." } },
    });
  });
});

describe("routeHandlers", () => {
  it("answers other methods 405 with Allow, and OPTIONS 204 with the same Allow", async () => {
    const handlers = routeHandlers({ POST: async () => new Response(null, { status: 204 }) }, { checksDatabase: false });
    const response = await handlers.DELETE(new Request("http://rekey.test/x", { method: "DELETE" }));
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST, OPTIONS");
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed");
    expect((await handlers.OPTIONS(new Request("http://rekey.test/x", { method: "OPTIONS" }))).headers.get("allow")).toBe("POST, OPTIONS");
  });

  it("turns an unexpected error into a 500 that says nothing of it", async () => {
    const handlers = routeHandlers(
      {
        GET: async () => {
          throw new Error("connection string postgres://secret@db");
        },
      },
      { checksDatabase: false },
    );
    const response = await handlers.GET(new Request("http://rekey.test/x"));
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ error: { code: "internal_error", message: expect.any(String) } });
    expect(text).not.toContain("secret");
  });

  // As drizzle wraps postgres.js's refused connection.
  const refused = () =>
    new Error("Failed query: select secret", {
      cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
    });

  afterEach(() => resetAvailabilityForTests());

  it("answers 503 service_unavailable with Retry-After when a handler meets a database outage", async () => {
    const handlers = routeHandlers(
      {
        async GET() {
          throw refused();
        },
      },
      { checksDatabase: false },
    );
    const response = await handlers.GET(new Request("http://rekey.test/x"));
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ error: { code: "service_unavailable", message: expect.any(String) } });
    expect(text).not.toContain("secret");
  });

  it("answers 503 at once, without running the handler, while the database is known to be down; a route that opts out runs", async () => {
    // The outage another request met a moment ago.
    expect(noteDatabaseError(refused())).toBe(true);
    let ran = 0;
    const handler = async () => {
      ran++;
      return new Response(null, { status: 204 });
    };
    const checked = await routeHandlers({ POST: handler }).POST(new Request("http://rekey.test/x", { method: "POST" }));
    expect(checked.status).toBe(503);
    expect(checked.headers.get("retry-after")).toBe("5");
    expect(((await checked.json()) as { error: { code: string } }).error.code).toBe("service_unavailable");
    expect(ran).toBe(0);
    expect(
      (await routeHandlers({ POST: handler }, { checksDatabase: false }).POST(new Request("http://rekey.test/x", { method: "POST" })))
        .status,
    ).toBe(204);
    expect(ran).toBe(1);
  });
});

describe("refuseCrossSite", () => {
  const request = (headers: Record<string, string>) => new Request("http://rekey.test/x", { method: "POST", headers });

  it("lets through requests from APP_URL's origin and requests without Origin", () => {
    expect(refuseCrossSite(request({ origin: "http://rekey.test", "sec-fetch-site": "same-origin" }))).toBeNull();
    expect(refuseCrossSite(request({}))).toBeNull();
  });

  it.each([
    [{ origin: "https://evil.example" }],
    [{ origin: "null" }],
    [{ origin: "https://rekey.test" }],
    [{ "sec-fetch-site": "cross-site" }],
  ])("refuses %j with 403", (headers) => {
    expect(refuseCrossSite(request(headers))?.status).toBe(403);
  });
});
