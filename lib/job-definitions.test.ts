import { describe, expect, it } from "vitest";
import type { JobDefinition } from "./jobs/definition";
import { ALL_JOBS } from "./job-definitions";

// Every module of lib/ (tests aside), loaded as the app loads them; those that need Next's
// request scope or Auth.js cannot load here and are read as text instead (second test).
const NEEDS_NEXT = /from "(next-auth[^"]*|next\/headers|next\/navigation)"/;
const sources = import.meta.glob<string>(["./**/*.ts", "!./**/*.test.ts"], { query: "?raw", import: "default", eager: true });
const modules = Object.fromEntries(
  Object.entries(import.meta.glob<Record<string, unknown>>(["./**/*.ts", "!./**/*.test.ts"])).filter(
    ([file]) => !NEEDS_NEXT.test(sources[file]!),
  ),
);

const isJobDefinition = (value: unknown): value is JobDefinition =>
  typeof value === "object" &&
  value !== null &&
  "kind" in value &&
  "payload" in value &&
  typeof (value as { run?: unknown }).run === "function";

describe("the composition root of jobs", () => {
  it("lists every job definition that any module of lib/ exports, once, so every kind that can be enqueued can run", async () => {
    const declared = new Map<string, JobDefinition>();
    for (const [file, load] of Object.entries(modules)) {
      for (const value of Object.values(await load())) if (isJobDefinition(value)) declared.set(`${file}:${value.kind}`, value);
    }
    expect(Object.keys(modules).length).toBeGreaterThan(40);
    expect(declared.size).toBe(ALL_JOBS.size);
    for (const [where, definition] of declared) {
      expect(ALL_JOBS.get(definition.kind), `${where} is not in lib/job-definitions.ts`).toBe(definition);
    }
  });

  it("declares no job in a module it could not load, and enqueues only through a definition", () => {
    for (const [file, source] of Object.entries(sources)) {
      if (!(file in modules)) expect(source, file).not.toContain("defineJob(");
      // enqueueJob, enqueueJobWithinLimit and jobInsertSql take a JobDefinition, whose schema
      // types the payload; a kind given as a bare string would have to be cast past that.
      expect(source, file).not.toMatch(/(enqueueJob|enqueueJobWithinLimit|jobInsertSql)\([^)]*?,\s*"[a-z_]+\.[a-z_]+"/);
    }
  });
});
