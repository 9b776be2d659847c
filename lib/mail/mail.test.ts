import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { createElement } from "react";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import ResetPasswordEmail, { resetPasswordSubject } from "@/emails/reset-password";
import { openTestDatabase } from "@/test-support/databases";
import { useDatabaseForTests, type DatabaseHandle } from "@/db/client";
import { freshOutboxDir } from "@/test-support/reset-helpers";
import { STAND_IN_ERROR, createResendStandIn, type ResendStandIn } from "@/e2e/support/resend-stand-in.mjs";
import { overrideEnvForTests } from "../env";
import { parseRetryAfter, sendEmail, type Email } from "./index";
import { readOutbox } from "./outbox";

const LINK = "http://rekey.test/reset-password/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

function resetEmail(to: string, idempotencyKey = `password-reset/${to}`): Email {
  return {
    to,
    subject: resetPasswordSubject,
    react: createElement(ResetPasswordEmail, {
      resetUrl: LINK,
      expiresInMinutes: 60,
      requestedAt: "21 Nov 2026, 10:00 UTC",
      requestIp: "203.0.113.7",
      forgotPasswordUrl: "http://rekey.test/forgot-password",
    }),
    idempotencyKey,
  };
}

let outbox: { dir: string; remove: () => Promise<void> };

beforeEach(async () => {
  outbox = await freshOutboxDir();
  vi.spyOn(console, "log").mockImplementation(() => {});
});
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  overrideEnvForTests({});
  await outbox.remove();
});

describe("sendEmail through Resend", () => {
  let standIn: ResendStandIn;
  // Sends are paced through a row in the database.
  let database: DatabaseHandle & { dispose(): Promise<void> };
  beforeAll(async () => {
    standIn = await createResendStandIn();
    database = await openTestDatabase("pglite");
    useDatabaseForTests(database);
  });
  afterAll(async () => {
    await standIn.close();
    await database.dispose();
  });
  beforeEach(() => {
    standIn.reset();
    overrideEnvForTests({
      RESEND_API_KEY: "re_test_key",
      RESEND_BASE_URL: standIn.url,
      EMAIL_FROM: "Rekey Tests <no-reply@rekey.test>",
      MAIL_OUTBOX_DIR: outbox.dir,
      MAIL_TIMEOUT_MS: "5000",
    });
  });

  it("posts the rendered message to /emails with the API key and the idempotency key, and returns Resend's id", async () => {
    const result = await sendEmail(resetEmail("ada@example.com", "password-reset/1234"));

    expect(standIn.requests).toHaveLength(1);
    const request = standIn.requests[0]!;
    expect(result).toEqual({ ok: true, id: request.id });
    expect(request.method).toBe("POST");
    expect(request.path).toBe("/emails");
    expect(request.headers.authorization).toBe("Bearer re_test_key");
    expect(request.headers["idempotency-key"]).toBe("password-reset/1234");
    expect(request.headers["content-type"]).toMatch(/^application\/json/);
    expect(request.body).toMatchObject({
      from: "Rekey Tests <no-reply@rekey.test>",
      to: "ada@example.com",
      subject: resetPasswordSubject,
    });
    expect(request.body.html).toEqual(expect.stringContaining(`href="${LINK}"`));
    expect(request.body.text).toEqual(expect.stringContaining(LINK));
    expect(request.body.text).not.toContain("<");
    expect(await readOutbox(outbox.dir)).toEqual([]);
  });

  it("returns a failure instead of throwing when Resend answers 500", async () => {
    standIn.setMode("fail");

    const result = await sendEmail(resetEmail("bob@example.com"));

    expect(result).toEqual({ ok: false, reason: STAND_IN_ERROR.name, transient: true });
    expect(standIn.requests.map((r) => r.mode)).toEqual(["fail"]);
  });

  it("reports a 429 as transient with the Retry-After it was given", async () => {
    standIn.script("eve@example.com", [{ status: 429, retryAfter: "7" }]);
    expect(await sendEmail(resetEmail("eve@example.com"))).toMatchObject({ ok: false, transient: true, retryAfterMs: 7_000 });
  });

  it("reports a 4xx other than 429 as a definite refusal, not worth a retry", async () => {
    standIn.script("fay@example.com", [{ status: 422 }]);
    expect(await sendEmail(resetEmail("fay@example.com"))).toMatchObject({ ok: false, transient: false });
  });

  it("paces sends to MAIL_SENDS_PER_SECOND: a burst queues instead of failing", async () => {
    overrideEnvForTests({
      RESEND_API_KEY: "re_test_key",
      RESEND_BASE_URL: standIn.url,
      MAIL_OUTBOX_DIR: outbox.dir,
      MAIL_SENDS_PER_SECOND: "10",
    });
    const started = Date.now();
    const results = await Promise.all(["g1", "g2", "g3", "g4", "g5"].map((n) => sendEmail(resetEmail(`${n}@example.com`))));
    expect(results.every((r) => r.ok)).toBe(true);
    const times = standIn.requests.map((r) => r.receivedAt).sort((a, b) => a - b);
    expect(times).toHaveLength(5);
    // Five sends at 10 a second take slots 100 ms apart, none before the burst began (an earlier
    // send may push them later still): the k-th to arrive cannot have left before its slot, so it
    // arrives no sooner than k·100 ms after the start, however late any of them ran. 2 ms of
    // slack for the clocks' whole milliseconds. Unpaced, all five arrive within about 20 ms.
    times.forEach((receivedAt, k) => expect(receivedAt - started).toBeGreaterThanOrEqual(k * 100 - 2));
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("3")).toBe(3_000);
    expect(parseRetryAfter("Sun, 22 Nov 2026 05:00:10 GMT", Date.parse("2026-11-22T05:00:00Z"))).toBe(10_000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it("gives up on a Resend that never answers after MAIL_TIMEOUT_MS and returns a failure", async () => {
    standIn.setModeFor("cleo@example.com", "hang");

    const result = await sendEmail(resetEmail("cleo@example.com"));

    // A timeout is worth another try.
    expect(result).toMatchObject({ ok: false, transient: true });
    expect(standIn.requests.map((r) => r.mode)).toEqual(["hang"]);
    // The stand-in still serves others: the failure was this request's, not a dead server.
    expect(await sendEmail(resetEmail("dan@example.com"))).toMatchObject({ ok: true });
  });
});

describe("sendEmail through the outbox", () => {
  beforeEach(() => {
    overrideEnvForTests({ RESEND_API_KEY: undefined, MAIL_OUTBOX_DIR: outbox.dir, EMAIL_FROM: "Rekey Tests <no-reply@rekey.test>" });
  });

  it("writes one JSON file per message and reads them back newest first", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-11-21T10:00:00.000Z"));
    const first = await sendEmail(resetEmail("first@example.com"));
    vi.setSystemTime(new Date("2026-11-21T10:00:05.000Z"));
    const second = await sendEmail(resetEmail("second@example.com"));
    expect(first.ok && second.ok).toBe(true);

    const files = (await readdir(outbox.dir)).filter((name) => name.endsWith(".json"));
    expect(files).toHaveLength(2);
    const stored = await Promise.all(
      files.map(async (name) => JSON.parse(await readFile(path.join(outbox.dir, name), "utf8")) as Record<string, unknown>),
    );
    for (const message of stored) {
      expect(Object.keys(message).sort()).toEqual(["createdAt", "from", "html", "id", "subject", "text", "to"]);
      expect(message).toMatchObject({ from: "Rekey Tests <no-reply@rekey.test>", subject: resetPasswordSubject });
      expect(message.text).toEqual(expect.stringContaining(LINK));
      expect(message.html).toEqual(expect.stringContaining(`href="${LINK}"`));
    }

    const read = await readOutbox(outbox.dir);
    expect(read.map((m) => [m.to, m.createdAt])).toEqual([
      ["second@example.com", "2026-11-21T10:00:05.000Z"],
      ["first@example.com", "2026-11-21T10:00:00.000Z"],
    ]);
    expect(read.map((m) => m.id)).toEqual([second.ok && second.id, first.ok && first.id]);
  });

  it("reads an outbox that does not exist yet as empty", async () => {
    expect(await readOutbox(path.join(outbox.dir, "not-there"))).toEqual([]);
  });
});
