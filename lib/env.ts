// Every environment variable Rekey reads, parsed once. No other module reads process.env.
// Imported by next.config.ts and scripts in plain Node, so no "server-only" here.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";

// The messages name the allowed range: a refusal at start-up must say what would be accepted.
const range = (min: number, max: number) => `must be between ${min} and ${max}`;
const intFrom = (min: number, max: number, fallback: number) =>
  z.coerce
    .number()
    .int(`must be a whole number between ${min} and ${max}`)
    .min(min, range(min, max))
    .max(max, range(min, max))
    .default(fallback);

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

// On only for "1", as the build switch always was; any other value is refused rather than
// read as off, so a "true" meant as on cannot quietly leave the bench routes out.
const benchRoutesFlag = z
  .enum(["1", "0", ""], { message: "must be 1 (the bench's own build and server) or unset" })
  .optional()
  .transform((v) => v === "1");

const booleanFlag = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", ""])
    .optional()
    .transform((v) => (v === undefined || v === "" ? fallback : v === "true" || v === "1"));

export const EnvSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  // A blank value (as copied from .env.example) counts as unset, like every optional variable.
  APP_URL: optionalString.pipe(
    z
      .url({ protocol: /^https?$/, message: "must be an http(s) URL such as https://rekey.example.com" })
      .transform((v) => v.replace(/\/+$/, ""))
      .optional(),
  ),
  AUTH_SECRET: optionalString.pipe(z.string().min(32, "must be at least 32 characters (openssl rand -base64 32)").optional()),
  /**
   * The AUTH_SECRET in force before the current one, while rotating: sealed values (two-factor
   * keys, job secrets) made under it are still read, and two-factor keys are re-sealed under the
   * new secret on their next use. Remove it once every account has signed in again.
   */
  AUTH_SECRET_PREVIOUS: optionalString.pipe(z.string().min(32, "must be at least 32 characters (the AUTH_SECRET it replaces)").optional()),
  DATA_DIR: z.string().default(".data"),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
      .optional(),
  ),
  /** Give up connecting to PostgreSQL after this many seconds. */
  DATABASE_CONNECT_TIMEOUT_SECONDS: intFrom(1, 60, 3),
  /** PostgreSQL cancels a statement after this many milliseconds (statement_timeout). */
  DATABASE_STATEMENT_TIMEOUT_MS: intFrom(100, 600_000, 5_000),
  /** PostgreSQL gives up waiting for a row lock after this many milliseconds (lock_timeout). */
  DATABASE_LOCK_TIMEOUT_MS: intFrom(100, 600_000, 2_000),
  /** true: every statement with parameters is prepared once per connection (db/client.ts). */
  DATABASE_PREPARED_STATEMENTS: booleanFlag(true),
  RESEND_API_KEY: optionalString,
  /** Resend's API origin; tests point it at a local stand-in. */
  RESEND_BASE_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  EMAIL_FROM: z.string().min(3).default("Rekey <no-reply@rekey.localhost>"),
  MAIL_OUTBOX_DIR: optionalString,
  /** resend | outbox. Unset: resend when RESEND_API_KEY is set, else outbox (refused in production). */
  MAIL_TRANSPORT: optionalString.pipe(z.enum(["resend", "outbox"], { message: "must be resend or outbox" }).optional()),
  /** 1/true: production may run on the embedded PGlite database (no DATABASE_URL). */
  ALLOW_EMBEDDED_DATABASE: booleanFlag(false),
  MAIL_TIMEOUT_MS: intFrom(100, 60_000, 10_000),
  RESET_TOKEN_TTL_MINUTES: intFrom(5, 24 * 60, 60),
  RESET_REQUESTS_PER_IP_PER_HOUR: intFrom(1, 100_000, 10),
  RESET_REQUESTS_PER_EMAIL_PER_HOUR: intFrom(1, 1_000, 3),
  RESET_INVALIDATE_PREVIOUS_TOKENS: booleanFlag(false),
  ARGON2_MEMORY_KIB: intFrom(19_456, 4_194_304, 19_456),
  ARGON2_ITERATIONS: intFrom(2, 100, 2),
  ARGON2_PARALLELISM: intFrom(1, 16, 1),
  // One core is left to answer everything else (health checks, pages) during a sign-in flood.
  ARGON2_MAX_CONCURRENT: intFrom(1, 256, Math.max(1, os.availableParallelism() - 1)),
  // Sign-ins waiting for a slot beyond this are turned away at once (503, Retry-After) before
  // any rendering. Generous by default: turned-away clients that retry at once cost the event
  // loop more than waiting ones (README, Benchmarks), so it only bounds a real flood.
  ARGON2_MAX_QUEUE: intFrom(0, 10_000, 64),
  /** Idle lifetime: a session unused this long ends. */
  SESSION_MAX_AGE_DAYS: intFrom(1, 365, 30),
  /** Absolute lifetime: a session this old ends however active it is. */
  SESSION_ABSOLUTE_MAX_AGE_DAYS: intFrom(1, 3650, 90),
  /** "Confirm it's you": how long a session's password (and code) entry allows account and factor changes. */
  REAUTH_MINUTES: intFrom(1, 60, 10),
  /** Days a deleted account waits, restorable with the emailed "cancel deletion" link, before the cleanup cron erases it. */
  ACCOUNT_DELETION_GRACE_DAYS: intFrom(1, 90, 14),
  SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP: intFrom(1, 10_000, 10),
  SIGN_IN_FAILURES_PER_IP_PER_HOUR: intFrom(1, 1_000_000, 100),
  /** Failed sign-ins per address across every IP in an hour; past it only devices that signed in to it before may try. */
  SIGN_IN_FAILURES_PER_ACCOUNT_PER_HOUR: intFrom(1, 100_000, 20),
  /** Proxies in front of the app that each append to X-Forwarded-For; the client is that many entries from the right. */
  TRUSTED_PROXY_HOPS: intFrom(1, 10, 1),
  /** Days an audit event is kept; the cleanup cron deletes older ones. */
  AUDIT_RETENTION_DAYS: intFrom(1, 3_650, 365),
  /** Bearer secret for /api/cron/* (Vercel Cron sends it); unset, those endpoints answer 404. */
  CRON_SECRET: optionalString.pipe(z.string().min(16, "must be at least 16 characters").optional()),
  /** Deferred work (lib/jobs): tries per job before it is abandoned, logged and audited. */
  JOBS_MAX_ATTEMPTS: intFrom(1, 50, 8),
  /** First retry delay; each further one doubles (with jitter), capped at an hour. */
  JOBS_RETRY_BASE_MS: intFrom(100, 3_600_000, 10_000),
  /** How long a claimed job is an instance's own; past it, another instance takes it over. */
  JOBS_LEASE_SECONDS: intFrom(5, 3_600, 60),
  /** How often a running server looks for due or orphaned work. */
  JOBS_POLL_INTERVAL_MS: intFrom(100, 600_000, 2_000),
  /** On SIGTERM, how long an instance may finish the work it holds before it exits. */
  JOBS_SHUTDOWN_GRACE_MS: intFrom(0, 600_000, 10_000),
  /** Finished jobs (payload already erased) are deleted by the cleanup cron after this. */
  JOBS_RETENTION_DAYS: intFrom(0, 3_650, 7),
  /** Emails per second to the provider, across every instance (Resend's default team limit is 2). */
  MAIL_SENDS_PER_SECOND: z.coerce.number().min(0.01, range(0.01, 1_000)).max(1_000, range(0.01, 1_000)).default(2),
  /** Comma-separated addresses of the admin accounts (only confirmed accounts count); unset, /admin is a 404 for everyone. */
  ADMIN_EMAILS: z
    .string()
    .optional()
    .transform((v) => [
      ...new Set(
        (v ?? "")
          .split(",")
          .map((e) => e.trim().toLowerCase())
          .filter((e) => e !== ""),
      ),
    ]),
  /**
   * On (the default): /admin serves an admin only on a session that passed a second factor at
   * sign-in; an admin signed in with the password alone is told to turn two-factor on and sign in again.
   */
  ADMIN_REQUIRE_TWO_FACTOR: booleanFlag(true),
  /** Bearer secret for GET /api/metrics (Prometheus); unset, it answers 404. */
  METRICS_TOKEN: optionalString.pipe(z.string().min(16, "must be at least 16 characters").optional()),
  /** OTLP endpoint for traces; unset, tracing is off. Read here only to decide; @vercel/otel reads the OTEL_* variables itself. */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /**
   * 1: serve the benchmark's own routes (the route.bench.ts files under app/). They exist only
   * in a build made with REKEY_BENCH_ROUTES=1 (BuildEnvSchema), and answer 404 unless the
   * server is started with it too: a bench build run anywhere else exposes nothing.
   */
  REKEY_BENCH_ROUTES: benchRoutesFlag,
});

/**
 * The build-time switches, read by next.config.ts in every phase, `next build` included.
 * Nothing secret and nothing about where the app runs belongs here: one build serves every
 * environment, which is configured when the server starts (EnvSchema).
 */
export const BuildEnvSchema = z.object({
  /** 1: the build includes the benchmark's own routes (the route.bench.ts files under app/). */
  REKEY_BENCH_ROUTES: benchRoutesFlag,
  /** standalone: `next build` also writes .next/standalone, the container image's server. */
  NEXT_OUTPUT: optionalString.pipe(z.enum(["standalone"], { message: "must be standalone or unset" }).optional()),
});
export type BuildEnv = z.infer<typeof BuildEnvSchema>;

type ParsedEnv = z.infer<typeof EnvSchema>;
export type Env = Omit<ParsedEnv, "APP_URL" | "AUTH_SECRET" | "MAIL_OUTBOX_DIR"> & {
  APP_URL: string;
  AUTH_SECRET: string;
  MAIL_OUTBOX_DIR: string;
  /** True when the app runs as a production build (`next start`, Vercel). */
  isProduction: boolean;
  mailTransport: "resend" | "outbox";
};

export class EnvError extends Error {
  override name = "EnvError";
}

function invalid(error: z.ZodError): EnvError {
  const lines = error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
  return new EnvError(`Invalid environment configuration:\n${lines.join("\n")}`);
}

/** Parses the build-time switches; throws an EnvError naming every bad one. */
export function parseBuildEnv(source: Record<string, string | undefined>): BuildEnv {
  const result = BuildEnvSchema.safeParse(source);
  if (!result.success) throw invalid(result.error);
  return result.data;
}

/** Parses and validates an environment; throws an EnvError naming every bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const result = EnvSchema.safeParse(source);
  if (!result.success) throw invalid(result.error);
  const parsed = result.data;
  const isProduction = parsed.NODE_ENV === "production";

  const missing: string[] = [];
  if (isProduction && !parsed.APP_URL) missing.push("APP_URL (the public origin, e.g. https://rekey.example.com)");
  if (isProduction && !parsed.AUTH_SECRET) missing.push("AUTH_SECRET (generate one: openssl rand -base64 32)");
  if (parsed.MAIL_TRANSPORT === "resend" && !parsed.RESEND_API_KEY) missing.push("RESEND_API_KEY (MAIL_TRANSPORT=resend needs it)");
  const mailTransport = parsed.MAIL_TRANSPORT ?? (parsed.RESEND_API_KEY ? "resend" : "outbox");

  // A production instance that writes emails to a local folder, or keeps accounts in a
  // process-local embedded database, loses them quietly on the next deploy; only an explicit
  // choice allows either.
  const unsafe: string[] = [];
  if (isProduction && mailTransport === "outbox" && parsed.MAIL_TRANSPORT !== "outbox") {
    unsafe.push(
      "RESEND_API_KEY is unset, so emails would only be written to the outbox folder: " +
        "set RESEND_API_KEY, or MAIL_TRANSPORT=outbox to choose the outbox",
    );
  }
  if (isProduction && !parsed.DATABASE_URL && !parsed.ALLOW_EMBEDDED_DATABASE) {
    unsafe.push(
      "DATABASE_URL is unset, so data would live in the embedded database in DATA_DIR: " +
        "set DATABASE_URL, or ALLOW_EMBEDDED_DATABASE=1 to choose it",
    );
  }

  const problems: string[] = [];
  if (parsed.SESSION_ABSOLUTE_MAX_AGE_DAYS < parsed.SESSION_MAX_AGE_DAYS) {
    problems.push(
      `Invalid environment configuration:\n  SESSION_ABSOLUTE_MAX_AGE_DAYS (${parsed.SESSION_ABSOLUTE_MAX_AGE_DAYS}) ` +
        `must be at least SESSION_MAX_AGE_DAYS (${parsed.SESSION_MAX_AGE_DAYS})`,
    );
  }
  if (missing.length > 0)
    problems.push(
      `Missing required environment variables${isProduction ? " in production" : ""}:\n${missing.map((m) => `  ${m}`).join("\n")}`,
    );
  if (unsafe.length > 0)
    problems.push(`Refusing to run in production with a configuration that loses data:\n${unsafe.map((m) => `  ${m}`).join("\n")}`);
  if (problems.length > 0) throw new EnvError(problems.join("\n\n"));

  // A lease shorter than one send would let a second instance take over a job mid-send.
  if (parsed.JOBS_LEASE_SECONDS * 1000 < parsed.MAIL_TIMEOUT_MS + 5_000) {
    throw new EnvError(`Invalid environment configuration:\n  JOBS_LEASE_SECONDS: must exceed MAIL_TIMEOUT_MS by at least 5 seconds`);
  }

  return {
    ...parsed,
    APP_URL: parsed.APP_URL ?? "http://localhost:3000",
    AUTH_SECRET: parsed.AUTH_SECRET ?? developmentSecret(parsed.DATA_DIR),
    MAIL_OUTBOX_DIR: parsed.MAIL_OUTBOX_DIR ?? path.join(parsed.DATA_DIR, "outbox"),
    isProduction,
    mailTransport,
  };
}

// Development needs no configuration: a random secret is made once and kept beside the
// embedded database, so sessions survive restarts. Production refuses to start without one.
function developmentSecret(dataDir: string): string {
  const file = path.join(dataDir, "auth-secret");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  try {
    writeFileSync(file, secret + "\n", { mode: 0o600, flag: "wx" });
    return secret;
  } catch (error) {
    // Another process (next dev spawns several) wrote it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return readFileSync(file, "utf8").trim();
    throw error;
  }
}

const globalForEnv = globalThis as unknown as { __rekeyEnv?: Env };

/** The validated environment of this process, parsed on first use. */
export function env(): Env {
  globalForEnv.__rekeyEnv ??= parseEnv(process.env);
  return globalForEnv.__rekeyEnv;
}

/** The build-time switches of this process (next.config.ts). */
export function buildEnv(): BuildEnv {
  return parseBuildEnv(process.env);
}

/**
 * Returns read(); when the environment is invalid, prints why (naming the variable) and exits
 * with code 1, so a server stops before it serves anything and a build stops at once.
 */
export function exitOnInvalidEnv<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(`\n${error.message}\n\nSee .env.example for every variable.\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** Replaces the cached environment (tests only: the service reads it at call time). */
export function overrideEnvForTests(overrides: Record<string, string | undefined>): Env {
  globalForEnv.__rekeyEnv = parseEnv({ ...process.env, ...overrides });
  return globalForEnv.__rekeyEnv;
}
