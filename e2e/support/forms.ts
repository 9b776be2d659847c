import { request as httpRequest } from "node:http";
import { E2E } from "./settings";

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One raw HTTP request with exactly the headers given (Host included), as an attacker sends it. */
export function rawRequest(options: {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port: E2E.appPort, method: options.method, path: options.path, headers: options.headers, setHost: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    if (options.body) req.write(options.body);
    req.end();
  });
}

/**
 * A POST as an attacker sends it straight to the app: Host and X-Forwarded-Host forged to
 * evil.example, with an Origin that matches them (as the attacker's own client would send).
 */
export function postWithForgedHost(options: { path: string; ip: string; contentType: string; body: string }): Promise<RawResponse> {
  return rawRequest({
    method: "POST",
    path: options.path,
    headers: {
      host: "evil.example",
      "x-forwarded-host": "evil.example",
      "x-forwarded-proto": "https",
      origin: "https://evil.example",
      "x-forwarded-for": options.ip,
      "content-type": options.contentType,
      "content-length": String(Buffer.byteLength(options.body)),
    },
    body: options.body,
  });
}

/**
 * The hidden fields React renders into a server-action form for browsers without JavaScript
 * ($ACTION_ID_…): with them, a plain multipart POST submits the form like a browser would.
 */
export async function actionFormFields(path: string): Promise<Record<string, string>> {
  const html = (await rawRequest({ method: "GET", path, headers: { host: `localhost:${E2E.appPort}` } })).body;
  return actionFieldsIn(html, path);
}

/** The server-action fields ($ACTION_ID_…) of the form in a page's HTML (e.g. one fetched with a browser's cookies). */
export function actionFieldsIn(html: string, path = "the page"): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = match[0].match(/name="([^"]*)"/)?.[1];
    const value = match[0].match(/value="([^"]*)"/)?.[1] ?? "";
    if (name?.startsWith("$ACTION")) fields[name] = value.replace(/&quot;/g, '"').replace(/&amp;/g, "&");
  }
  if (Object.keys(fields).length === 0) throw new Error(`no server-action fields on ${path}`);
  return fields;
}

/** Encodes fields as multipart/form-data, the encoding of a server-action form post. */
export function multipart(fields: Record<string, string>): { body: string; contentType: string } {
  const boundary = `----rekey${Math.random().toString(16).slice(2)}`;
  const parts = Object.entries(fields).map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  return { body: `${parts.join("")}--${boundary}--\r\n`, contentType: `multipart/form-data; boundary=${boundary}` };
}
