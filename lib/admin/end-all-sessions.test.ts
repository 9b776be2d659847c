import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openDatabase, type Database } from "@/db/client";
import { auditEvents, sessions, twoFactorChallenges, users } from "@/db/schema";
import { createPostgresDatabase, describeEachDatabase, TEST_DATABASE_URL } from "@/test-support/databases";
import { CHROME_ON_WINDOWS, uniqueIp } from "@/test-support/reset-helpers";
import { insertSession } from "@/test-support/sessions";
import { createUser } from "@/test-support/users";
import { findSession, issueSignInSession } from "../auth/sessions";
import { findSignInChallenge, startSignInChallenge } from "../second-factor/sign-in-step";
import { endAllSessions } from "./end-all-sessions";

const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });

async function versionOf(db: Database, userId: string): Promise<number> {
  const [row] = await db.select({ v: users.credentialsVersion }).from(users).where(eq(users.id, userId));
  if (!row) throw new Error(`no user ${userId}`);
  return row.v;
}

/** Two users with two sessions each, and one pending second sign-in step. */
async function signedInWorld(db: Database) {
  const [alice, bob] = [await createUser(db), await createUser(db)];
  const tokens = [];
  for (const user of [alice, bob, alice, bob]) tokens.push((await insertSession(db, { userId: user.id, ...context() })).sessionToken);
  const step = await startSignInChallenge(db, { userId: bob.id, credentialsVersion: await versionOf(db, bob.id), ...context() });
  return { alice, bob, tokens, step };
}

async function allEndedEvents(db: Database) {
  return db.select().from(auditEvents).where(eq(auditEvents.event, "sessions.all_ended"));
}

describeEachDatabase("ending every session", ({ handle }) => {
  const db = () => handle().db;

  it("ends every session of every user and every pending second step, audited with the admin and the counts", async () => {
    const { tokens, step } = await signedInWorld(db());
    const before = (await db().select({ id: sessions.id }).from(sessions)).length;
    const admin = await createUser(db());
    const request = { ip: "198.51.100.44", userAgent: CHROME_ON_WINDOWS };

    const result = await endAllSessions(db(), { via: "admin", adminId: admin.id, ...request });

    expect(result).toEqual({ sessionsEnded: before, signInStepsEnded: 1 });
    for (const token of tokens) expect(await findSession(db(), token)).toBeNull();
    expect(await findSignInChallenge(db(), step.token)).toBeNull();
    expect(await db().select().from(sessions)).toEqual([]);
    expect(await db().select().from(twoFactorChallenges)).toEqual([]);
    const [event] = await allEndedEvents(db());
    expect(event).toMatchObject({
      userId: null,
      ip: request.ip,
      userAgent: CHROME_ON_WINDOWS,
      details: { via: "admin", admin_id: admin.id, sessions: before, sign_in_steps: 1 },
    });
  });

  it("leaves no session to a sign-in whose password check was in flight, and lets the next sign-in in", async () => {
    const user = await createUser(db());
    const readBefore = await versionOf(db(), user.id);

    await endAllSessions(db(), { via: "script", operator: "ops", host: "box" });

    // The in-flight sign-in stores its session for the version it read: refused.
    expect(await issueSignInSession(db(), { userId: user.id, credentialsVersion: readBefore, ...context() })).toBeNull();
    const fresh = await issueSignInSession(db(), { userId: user.id, credentialsVersion: await versionOf(db(), user.id), ...context() });
    expect(fresh).not.toBeNull();
    expect(await findSession(db(), fresh!.sessionToken)).not.toBeNull();
  });
});

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(__dirname, "../..");

/** Runs `npm run sessions:end-all` as an operator would, with only the database configured. */
async function runScript(database: { DATABASE_URL: string } | { DATA_DIR: string }) {
  return execFileAsync("npm", ["run", "-s", "sessions:end-all"], {
    cwd: ROOT,
    timeout: 90_000,
    env: {
      NODE_ENV: "development",
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      USER: "night-operator",
      LOG_LEVEL: "silent",
      ...database,
    },
  });
}

/** Seeds a signed-in world in the database `open` opens, runs the script against it, and checks it from a new connection. */
async function provesScript(open: () => ReturnType<typeof openDatabase>, database: { DATABASE_URL: string } | { DATA_DIR: string }) {
  const seeding = await open();
  const { tokens, step } = await signedInWorld(seeding.db);
  await seeding.close();

  const { stdout } = await runScript(database);
  expect(stdout).toContain("Ended 4 session(s) and 1 pending sign-in step(s)");

  const after = await open();
  try {
    for (const token of tokens) expect(await findSession(after.db, token)).toBeNull();
    expect(await findSignInChallenge(after.db, step.token)).toBeNull();
    const [event] = await allEndedEvents(after.db);
    expect(event?.details).toMatchObject({ via: "script", operator: "night-operator", sessions: 4, sign_in_steps: 1 });
  } finally {
    await after.close();
  }
}

describe("npm run sessions:end-all", () => {
  it("ends every session in the embedded database under DATA_DIR", { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "rekey-end-all-"));
    try {
      await provesScript(() => openDatabase({ dataDir: path.join(dataDir, "pglite") }), { DATA_DIR: dataDir });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  if (TEST_DATABASE_URL)
    it("ends every session in the PostgreSQL database of DATABASE_URL", { timeout: 120_000 }, async () => {
      const created = await createPostgresDatabase(TEST_DATABASE_URL!);
      try {
        await provesScript(() => openDatabase({ url: created.url }), { DATABASE_URL: created.url });
      } finally {
        await created.drop();
      }
    });
});
