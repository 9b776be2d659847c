import "server-only";
import { env } from "./env";

// Each argon2 run holds a core for ~10 ms. Unbounded, a flood of sign-ins takes every core
// and a health check waits behind all of them; bounded, the excess waits in this queue instead.
// On globalThis: proxy.ts (which sheds sign-ins when the queue is full) is a module graph of
// its own in the same process.
const slots = ((globalThis as unknown as { __rekeyArgon2?: { running: number; waiting: (() => void)[] } }).__rekeyArgon2 ??= {
  running: 0,
  waiting: [],
});

/** Runs `work` once fewer than ARGON2_MAX_CONCURRENT argon2 slots are taken. */
export async function withArgon2Slot<T>(work: () => Promise<T>): Promise<T> {
  if (slots.running >= env().ARGON2_MAX_CONCURRENT) await new Promise<void>((resolve) => slots.waiting.push(resolve));
  else slots.running++;
  try {
    return await work();
  } finally {
    // The slot passes straight to the next waiter, so `running` never drops below the queue.
    const next = slots.waiting.shift();
    if (next) next();
    else slots.running--;
  }
}

/** How many argon2 slots are taken and how many runs wait. */
export function argon2Load(): { running: number; waiting: number } {
  return { running: slots.running, waiting: slots.waiting.length };
}

/**
 * True when a new run would have to wait and ARGON2_MAX_QUEUE runs already do: a new sign-in
 * is to be turned away (proxy.ts).
 */
export function argon2QueueFull(): boolean {
  const config = env();
  return slots.running >= config.ARGON2_MAX_CONCURRENT && slots.waiting.length >= config.ARGON2_MAX_QUEUE;
}
