import "server-only";
import type { z } from "zod";
import type { Database } from "@/db/client";
import type { JobSteps } from "./steps";

/**
 * Runs a persisted job once the answer has gone out: `afterResponse` from lib/job-definitions.ts
 * in the app (Next's after()), a collecting stand-in in the tests. If it never runs (the
 * instance died), the poller or the drain cron of any instance runs the job.
 */
export type Schedule = (db: Database, jobId: string) => void;

/** A job of a batch step: its parsed payload, and its steps (to skip a step already done, or record one). */
export interface BatchedJob<Payload> {
  payload: Payload;
  steps: JobSteps;
}

/**
 * One kind of deferred work, declared by the feature that enqueues it, next to its code. The
 * payload schema types every enqueue site and parses the stored JSON before `run` sees it.
 */
export interface JobDefinition<Payload = unknown, Input = Payload> {
  readonly kind: string;
  readonly payload: z.ZodType<Payload, Input>;
  /** The work. Throws to be tried again (lib/jobs/errors.ts says how); a step done is not redone (`steps`). */
  run(db: Database, payload: Payload, steps: JobSteps): Promise<void>;
  /**
   * Optional: a first step that one statement can do for many jobs of this kind claimed
   * together. It runs for the lot before each job's `run`; a job whose step it recorded skips it.
   */
  batch?(db: Database, jobs: BatchedJob<Payload>[]): Promise<void>;
}

/** Declares a job kind (a helper for the types: `run` and `batch` get the schema's output). */
export function defineJob<Schema extends z.ZodType<object, object>>(definition: {
  kind: string;
  payload: Schema;
  run(db: Database, payload: z.output<Schema>, steps: JobSteps): Promise<void>;
  batch?(db: Database, jobs: BatchedJob<z.output<Schema>>[]): Promise<void>;
}): JobDefinition<z.output<Schema>, z.input<Schema>> {
  return definition as unknown as JobDefinition<z.output<Schema>, z.input<Schema>>;
}

/** Every job kind an instance can run, by kind: built once, by lib/job-definitions.ts. */
export type JobRegistry = ReadonlyMap<string, JobDefinition<unknown, unknown>>;

/** The registry of `definitions`; two definitions of one kind are a mistake caught at start. */
export function jobRegistry(definitions: readonly JobDefinition<unknown, unknown>[]): JobRegistry {
  const registry = new Map<string, JobDefinition<unknown, unknown>>();
  for (const definition of definitions) {
    if (registry.has(definition.kind)) throw new Error(`job kind ${definition.kind} is defined twice`);
    registry.set(definition.kind, definition);
  }
  return registry;
}
