import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EnvError, parseBuildEnv, parseEnv } from "./env";

// A complete, valid environment; each test changes one thing. AUTH_SECRET is set so that no
// test writes a development secret into the working tree.
const BASE = {
  NODE_ENV: "test",
  AUTH_SECRET: "a".repeat(32),
  APP_URL: "https://rekey.example.com",
  DATA_DIR: "/nonexistent/rekey-data",
};

function parseError(source: Record<string, string | undefined>): EnvError {
  try {
    parseEnv(source);
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return error as EnvError;
  }
  throw new Error("parseEnv accepted the environment");
}

describe("parseEnv rejects malformed values, naming the variable", () => {
  it.each([
    ["RESET_TOKEN_TTL_MINUTES", "abc"],
    ["RESET_TOKEN_TTL_MINUTES", "2"],
    ["RESET_REQUESTS_PER_IP_PER_HOUR", "0"],
    ["SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP", "0"],
    ["SIGN_IN_FAILURES_PER_IP_PER_HOUR", "many"],
    ["ARGON2_MEMORY_KIB", "4096"],
    ["APP_URL", "not-a-url"],
    ["APP_URL", "ftp://x"],
    ["DATABASE_URL", "mysql://x"],
    ["AUTH_SECRET", "short"],
    ["NODE_ENV", "staging"],
    ["LOG_LEVEL", "loud"],
    ["AUDIT_RETENTION_DAYS", "0"],
    ["AUDIT_RETENTION_DAYS", "3651"],
    ["ALLOW_EMBEDDED_DATABASE", "yes"],
    ["SESSION_ABSOLUTE_MAX_AGE_DAYS", "0"],
    ["SESSION_ABSOLUTE_MAX_AGE_DAYS", "3651"],
    ["REAUTH_MINUTES", "0"],
    ["REAUTH_MINUTES", "61"],
    ["JOBS_MAX_ATTEMPTS", "0"],
    ["JOBS_LEASE_SECONDS", "1"],
    ["MAIL_SENDS_PER_SECOND", "0"],
    ["REKEY_BENCH_ROUTES", "true"],
  ])("rejects %s=%s", (name, value) => {
    const error = parseError({ ...BASE, [name]: value });
    expect(error.message).toMatch(new RegExp(`^\\s+${name}: `, "m"));
  });

  it("explains what an http(s) APP_URL and a postgres DATABASE_URL look like", () => {
    expect(parseError({ ...BASE, APP_URL: "ftp://x" }).message).toContain("APP_URL: must be an http(s) URL");
    expect(parseError({ ...BASE, DATABASE_URL: "mysql://x" }).message).toContain("DATABASE_URL: must be a postgres:// URL");
    expect(parseError({ ...BASE, AUTH_SECRET: "short" }).message).toContain("AUTH_SECRET: must be at least 32 characters");
  });

  it("names every bad variable at once", () => {
    const message = parseError({ ...BASE, RESET_TOKEN_TTL_MINUTES: "abc", APP_URL: "not-a-url" }).message;
    expect(message).toContain("RESET_TOKEN_TTL_MINUTES:");
    expect(message).toContain("APP_URL:");
  });

  it("refuses a job lease that a single send could outlast", () => {
    expect(parseError({ ...BASE, JOBS_LEASE_SECONDS: "10", MAIL_TIMEOUT_MS: "8000" }).message).toContain(
      "JOBS_LEASE_SECONDS: must exceed MAIL_TIMEOUT_MS",
    );
    expect(parseEnv({ ...BASE, JOBS_LEASE_SECONDS: "13", MAIL_TIMEOUT_MS: "8000" }).JOBS_LEASE_SECONDS).toBe(13);
  });

  it("accepts postgres:// and postgresql:// database URLs", () => {
    expect(parseEnv({ ...BASE, DATABASE_URL: "postgres://u@h/db" }).DATABASE_URL).toBe("postgres://u@h/db");
    expect(parseEnv({ ...BASE, DATABASE_URL: " postgresql://u@h/db " }).DATABASE_URL).toBe("postgresql://u@h/db");
    expect(parseEnv({ ...BASE, DATABASE_URL: "" }).DATABASE_URL).toBeUndefined();
  });
});

describe("parseEnv session lifetimes", () => {
  it("refuses an absolute lifetime shorter than the idle one, naming both variables", () => {
    const error = parseError({ ...BASE, SESSION_MAX_AGE_DAYS: "30", SESSION_ABSOLUTE_MAX_AGE_DAYS: "29" });
    expect(error.message).toContain("SESSION_ABSOLUTE_MAX_AGE_DAYS (29) must be at least SESSION_MAX_AGE_DAYS (30)");
  });

  it("refuses an idle lifetime raised past the default absolute one", () => {
    expect(parseError({ ...BASE, SESSION_MAX_AGE_DAYS: "120" }).message).toMatch(
      /SESSION_ABSOLUTE_MAX_AGE_DAYS \(90\).*SESSION_MAX_AGE_DAYS \(120\)/,
    );
  });

  it("accepts equal lifetimes", () => {
    expect(parseEnv({ ...BASE, SESSION_MAX_AGE_DAYS: "7", SESSION_ABSOLUTE_MAX_AGE_DAYS: "7" })).toMatchObject({
      SESSION_MAX_AGE_DAYS: 7,
      SESSION_ABSOLUTE_MAX_AGE_DAYS: 7,
    });
  });
});

describe("parseEnv in production", () => {
  // A production environment that loses nothing: PostgreSQL and Resend.
  const production = { ...BASE, NODE_ENV: "production", DATABASE_URL: "postgres://u@h/db", RESEND_API_KEY: "re_123" };

  it("throws naming both AUTH_SECRET and APP_URL when both are missing", () => {
    const message = parseError({ ...production, AUTH_SECRET: undefined, APP_URL: undefined }).message;
    expect(message).toContain("Missing required environment variables in production");
    expect(message).toMatch(/^\s+AUTH_SECRET /m);
    expect(message).toMatch(/^\s+APP_URL /m);
  });

  it("throws naming only AUTH_SECRET when only the secret is missing", () => {
    const message = parseError({ ...production, AUTH_SECRET: undefined }).message;
    expect(message).toMatch(/^\s+AUTH_SECRET /m);
    expect(message).not.toMatch(/^\s+APP_URL /m);
  });

  it("throws naming only APP_URL when only the URL is missing", () => {
    const message = parseError({ ...production, APP_URL: undefined }).message;
    expect(message).toMatch(/^\s+APP_URL /m);
    expect(message).not.toMatch(/^\s+AUTH_SECRET /m);
  });

  it("starts with both set and reports that it is production", () => {
    const config = parseEnv(production);
    expect(config.isProduction).toBe(true);
    expect(config.AUTH_SECRET).toBe(BASE.AUTH_SECRET);
  });
});

describe("parseEnv refuses production configurations that lose data quietly", () => {
  const production = { ...BASE, NODE_ENV: "production", DATABASE_URL: "postgres://u@h/db", RESEND_API_KEY: "re_123" };

  it("refuses the outbox when RESEND_API_KEY is unset, naming both ways out", () => {
    const message = parseError({ ...production, RESEND_API_KEY: undefined }).message;
    expect(message).toContain("Refusing to run in production with a configuration that loses data");
    expect(message).toMatch(/^\s+RESEND_API_KEY is unset.*MAIL_TRANSPORT=outbox/m);
    expect(message).not.toContain("DATABASE_URL is unset");
  });

  it("refuses the embedded database when DATABASE_URL is unset, naming both ways out", () => {
    const message = parseError({ ...production, DATABASE_URL: undefined }).message;
    expect(message).toMatch(/^\s+DATABASE_URL is unset.*ALLOW_EMBEDDED_DATABASE=1/m);
    expect(message).not.toContain("RESEND_API_KEY is unset");
  });

  it("names both refusals, and a missing AUTH_SECRET, in one message", () => {
    const message = parseError({ ...production, DATABASE_URL: undefined, RESEND_API_KEY: "", AUTH_SECRET: undefined }).message;
    expect(message).toMatch(/^\s+AUTH_SECRET /m);
    expect(message).toContain("RESEND_API_KEY is unset");
    expect(message).toContain("DATABASE_URL is unset");
  });

  it("runs on the outbox when MAIL_TRANSPORT=outbox chooses it", () => {
    const config = parseEnv({ ...production, RESEND_API_KEY: undefined, MAIL_TRANSPORT: "outbox" });
    expect(config.mailTransport).toBe("outbox");
  });

  it("uses the outbox when MAIL_TRANSPORT=outbox even with a Resend key", () => {
    expect(parseEnv({ ...production, MAIL_TRANSPORT: "outbox" }).mailTransport).toBe("outbox");
  });

  it.each(["1", "true"])("runs on the embedded database when ALLOW_EMBEDDED_DATABASE=%s chooses it", (flag) => {
    const config = parseEnv({ ...production, DATABASE_URL: undefined, ALLOW_EMBEDDED_DATABASE: flag });
    expect(config.ALLOW_EMBEDDED_DATABASE).toBe(true);
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it("still refuses the embedded database when ALLOW_EMBEDDED_DATABASE=0", () => {
    expect(parseError({ ...production, DATABASE_URL: undefined, ALLOW_EMBEDDED_DATABASE: "0" }).message).toContain("DATABASE_URL is unset");
  });

  it("refuses MAIL_TRANSPORT=resend without RESEND_API_KEY, and an unknown transport", () => {
    expect(parseError({ ...production, MAIL_TRANSPORT: "resend", RESEND_API_KEY: undefined }).message).toMatch(
      /^\s+RESEND_API_KEY \(MAIL_TRANSPORT=resend/m,
    );
    expect(parseError({ ...production, MAIL_TRANSPORT: "smtp" }).message).toMatch(/^\s+MAIL_TRANSPORT: must be resend or outbox/m);
  });

  it("asks for neither opt-in outside production", () => {
    const config = parseEnv({ ...BASE, NODE_ENV: "development" });
    expect(config.mailTransport).toBe("outbox");
    expect(config.DATABASE_URL).toBeUndefined();
  });
});

describe("parseEnv defaults", () => {
  it("uses the documented defaults", () => {
    const config = parseEnv({ AUTH_SECRET: BASE.AUTH_SECRET, DATA_DIR: "/srv/rekey" });
    expect(config).toMatchObject({
      NODE_ENV: "development",
      isProduction: false,
      APP_URL: "http://localhost:3000",
      RESET_TOKEN_TTL_MINUTES: 60,
      RESET_REQUESTS_PER_IP_PER_HOUR: 10,
      RESET_REQUESTS_PER_EMAIL_PER_HOUR: 3,
      RESET_INVALIDATE_PREVIOUS_TOKENS: false,
      ARGON2_MEMORY_KIB: 19_456,
      ARGON2_ITERATIONS: 2,
      ARGON2_PARALLELISM: 1,
      SESSION_MAX_AGE_DAYS: 30,
      SESSION_ABSOLUTE_MAX_AGE_DAYS: 90,
      REAUTH_MINUTES: 10,
      SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP: 10,
      SIGN_IN_FAILURES_PER_IP_PER_HOUR: 100,
      AUDIT_RETENTION_DAYS: 365,
      ALLOW_EMBEDDED_DATABASE: false,
      JOBS_MAX_ATTEMPTS: 8,
      JOBS_RETRY_BASE_MS: 10_000,
      JOBS_LEASE_SECONDS: 60,
      JOBS_POLL_INTERVAL_MS: 2_000,
      JOBS_SHUTDOWN_GRACE_MS: 10_000,
      JOBS_RETENTION_DAYS: 7,
      MAIL_SENDS_PER_SECOND: 2,
      MAIL_OUTBOX_DIR: path.join("/srv/rekey", "outbox"),
      mailTransport: "outbox",
    });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it("puts the outbox under the default DATA_DIR when none is given", () => {
    expect(parseEnv({ AUTH_SECRET: BASE.AUTH_SECRET }).MAIL_OUTBOX_DIR).toBe(path.join(".data", "outbox"));
  });

  it("keeps an explicit MAIL_OUTBOX_DIR", () => {
    expect(parseEnv({ ...BASE, MAIL_OUTBOX_DIR: "/tmp/mail" }).MAIL_OUTBOX_DIR).toBe("/tmp/mail");
  });

  it("sends mail through Resend when RESEND_API_KEY is set, and to the outbox when it is blank", () => {
    expect(parseEnv({ ...BASE, RESEND_API_KEY: "re_123" }).mailTransport).toBe("resend");
    expect(parseEnv({ ...BASE, RESEND_API_KEY: "  " }).mailTransport).toBe("outbox");
  });

  it("coerces numeric settings from strings", () => {
    expect(parseEnv({ ...BASE, RESET_TOKEN_TTL_MINUTES: "15" }).RESET_TOKEN_TTL_MINUTES).toBe(15);
  });

  it("removes trailing slashes from APP_URL", () => {
    expect(parseEnv({ ...BASE, APP_URL: "https://rekey.example.com/" }).APP_URL).toBe("https://rekey.example.com");
    expect(parseEnv({ ...BASE, APP_URL: "https://example.com/rekey//" }).APP_URL).toBe("https://example.com/rekey");
  });
});

describe("parseEnv in development without AUTH_SECRET", () => {
  let dataDir: string | undefined;
  afterEach(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    dataDir = undefined;
  });

  it("generates a secret once into DATA_DIR/auth-secret and returns the same one on the next parse", async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "rekey-env-"));
    const nested = path.join(dataDir, "not", "yet", "made");
    const source = { NODE_ENV: "development", DATA_DIR: nested };

    const first = parseEnv(source).AUTH_SECRET;
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect((await readFile(path.join(nested, "auth-secret"), "utf8")).trim()).toBe(first);

    const second = parseEnv(source).AUTH_SECRET;
    expect(second).toBe(first);
  });

  it("gives different data directories different secrets", async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "rekey-env-"));
    const a = parseEnv({ NODE_ENV: "development", DATA_DIR: path.join(dataDir, "a") }).AUTH_SECRET;
    const b = parseEnv({ NODE_ENV: "development", DATA_DIR: path.join(dataDir, "b") }).AUTH_SECRET;
    expect(a).not.toBe(b);
  });
});

describe("numeric limits", () => {
  it("refuses a value above the maximum and names the allowed range", () => {
    expect(() => parseEnv({ ...BASE, RESET_REQUESTS_PER_IP_PER_HOUR: "1000000" })).toThrow(
      "RESET_REQUESTS_PER_IP_PER_HOUR: must be between 1 and 100000",
    );
  });

  it("refuses a fraction where a whole number is required and names the range", () => {
    expect(() => parseEnv({ ...BASE, MAIL_TIMEOUT_MS: "150.5" })).toThrow("MAIL_TIMEOUT_MS: must be a whole number between 100 and 60000");
  });
});

describe("REKEY_BENCH_ROUTES at start", () => {
  it("serves the bench routes only for 1, and is off by default", () => {
    expect(parseEnv({ ...BASE, REKEY_BENCH_ROUTES: "1" }).REKEY_BENCH_ROUTES).toBe(true);
    expect(parseEnv({ ...BASE, REKEY_BENCH_ROUTES: "0" }).REKEY_BENCH_ROUTES).toBe(false);
    expect(parseEnv({ ...BASE, REKEY_BENCH_ROUTES: "" }).REKEY_BENCH_ROUTES).toBe(false);
    expect(parseEnv(BASE).REKEY_BENCH_ROUTES).toBe(false);
  });
});

describe("parseBuildEnv (next build)", () => {
  it("needs nothing: no secret, no URL, no database, even in production", () => {
    expect(parseBuildEnv({})).toEqual({ REKEY_BENCH_ROUTES: false, NEXT_OUTPUT: undefined });
    expect(parseBuildEnv({ NODE_ENV: "production" })).toEqual({ REKEY_BENCH_ROUTES: false, NEXT_OUTPUT: undefined });
  });

  it("ignores the variables that are read at start, however malformed", () => {
    expect(() =>
      parseBuildEnv({ NODE_ENV: "production", APP_URL: "not-a-url", AUTH_SECRET: "short", RESET_TOKEN_TTL_MINUTES: "soon" }),
    ).not.toThrow();
  });

  it("includes the bench routes only for REKEY_BENCH_ROUTES=1", () => {
    expect(parseBuildEnv({ REKEY_BENCH_ROUTES: "1" }).REKEY_BENCH_ROUTES).toBe(true);
    expect(parseBuildEnv({ REKEY_BENCH_ROUTES: "0" }).REKEY_BENCH_ROUTES).toBe(false);
  });

  it("asks for standalone output only with NEXT_OUTPUT=standalone", () => {
    expect(parseBuildEnv({ NEXT_OUTPUT: "standalone" }).NEXT_OUTPUT).toBe("standalone");
    expect(parseBuildEnv({ NEXT_OUTPUT: " " }).NEXT_OUTPUT).toBeUndefined();
  });

  it.each([
    ["REKEY_BENCH_ROUTES", "true", "must be 1 (the bench's own build and server) or unset"],
    ["NEXT_OUTPUT", "export", "must be standalone or unset"],
  ])("rejects %s=%s, naming the variable", (name, value, reason) => {
    let error: unknown;
    try {
      parseBuildEnv({ [name]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(EnvError);
    expect((error as EnvError).message).toContain(`\n  ${name}: ${reason}`);
  });
});
