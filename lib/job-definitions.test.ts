import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { JobDefinition } from "./jobs/definition";
import { ALL_JOBS } from "./job-definitions";

// Every module of lib/ (tests aside), loaded as the app loads them.
const modules = import.meta.glob<Record<string, unknown>>(["./**/*.ts", "!./**/*.test.ts"]);

const isJobDefinition = (value: unknown): value is JobDefinition =>
  typeof value === "object" && value !== null && "kind" in value && "payload" in value && typeof (value as { run?: unknown }).run === "function";

describe("the composition root of jobs", () => {
  it("lists every job definition that any module of lib/ exports, once, so every kind that can be enqueued can run", async () => {
    const declared = new Map<string, JobDefinition>();
    for (const [file, load] of Object.entries(modules)) {
      for (const value of Object.values(await load())) if (isJobDefinition(value)) declared.set(`${file}:${value.kind}`, value);
    }
    expect(declared.size).toBeGreaterThanOrEqual(7);
    for (const [where, definition] of declared) {
      expect(ALL_JOBS.get(definition.kind), `${where} is not in lib/job-definitions.ts`).toBe(definition);
    }
  });

  it("can only enqueue through a definition: no module passes a kind as a bare string", () => {
    // enqueueJob, enqueueJobWithinLimit and jobInsertSql take a JobDefinition, whose schema
    // types the payload; a string literal where a definition belongs would not compile, and
    // this guards against a cast around it.
    for (const file of Object.keys(modules)) {
      const source = readFileSync(path.join(__dirname, file), "utf8");
      expect(source, file).not.toMatch(/(enqueueJob|enqueueJobWithinLimit|jobInsertSql)\([^)]*?,\s*"[a-z_]+\.[a-z_]+"/);
    }
  });
});
