// `next build` in exactly the environment this script was given, then a record of it for
// e2e/startup.spec.ts: the build's id and the names (never the values) of the variables the
// build saw. Written here, by the process that ran the build, so the record cannot describe
// some other environment than the one the build really had.
//   node e2e/support/build-recorded.mjs <record.json>
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const record = process.argv[2];
if (!record) {
  console.error("usage: node e2e/support/build-recorded.mjs <record.json>");
  process.exit(2);
}
const build = spawnSync("node_modules/.bin/next", ["build"], { stdio: ["ignore", "inherit", "inherit"] });
if (build.status !== 0) process.exit(build.status ?? 1);
mkdirSync(path.dirname(record), { recursive: true });
const buildId = readFileSync(".next/BUILD_ID", "utf8").trim();
writeFileSync(record, JSON.stringify({ buildId, variables: Object.keys(process.env).sort() }, null, 2) + "\n");
