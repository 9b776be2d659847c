import "server-only";
import { randomUUID } from "node:crypto";
import { mkdir, readFile, readdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";

export interface OutboxMessage {
  id: string;
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
  createdAt: string;
}

/** Writes one message as one JSON file (development and tests read them back). */
export async function writeToOutbox(dir: string, message: Omit<OutboxMessage, "id" | "createdAt">): Promise<OutboxMessage> {
  await mkdir(dir, { recursive: true });
  const createdAt = new Date().toISOString();
  const id = randomUUID();
  const full: OutboxMessage = { id, ...message, createdAt };
  // Time first so a directory listing sorts oldest to newest.
  const file = path.join(dir, `${createdAt.replace(/[:.]/g, "-")}-${id}.json`);
  // Written under another name, then renamed: a reader listing *.json never meets a message
  // half written (the API walkthrough's e2e test once read one, "Unexpected end of JSON input").
  const partial = `${file}.partial`;
  await writeFile(partial, JSON.stringify(full, null, 2), { mode: 0o600 });
  await rename(partial, file);
  return full;
}

/** Every message in the outbox, newest first. */
export async function readOutbox(dir: string): Promise<OutboxMessage[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".json"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  names.sort().reverse();
  const messages = await Promise.all(names.map(async (name) => JSON.parse(await readFile(path.join(dir, name), "utf8")) as OutboxMessage));
  return messages;
}
