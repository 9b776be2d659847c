import "server-only";
import { env } from "./env";

type Level = "debug" | "info" | "warn" | "error";
type Fields = Record<string, string | number | boolean | null | undefined>;
const ORDER: Record<Level | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/**
 * One JSON line per event: an event name and ids. Callers pass ids, never a token, a password,
 * a hash or an email address; `error` values are reduced to their name and message.
 */
export function log(level: Level, event: string, fields: Fields = {}, error?: unknown): void {
  if (ORDER[level] < ORDER[env().LOG_LEVEL]) return;
  const line: Record<string, unknown> = { level, event, time: new Date().toISOString(), ...fields };
  if (error !== undefined) {
    line.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  const text = JSON.stringify(line);
  if (level === "error" || level === "warn") console.error(text);
  else console.log(text);
}
