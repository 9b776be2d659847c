// `npm run sessions:end-all`: ends every session of every user (browsers, apps, command-line
// tools) and every pending second sign-in step, in the app's configured database
// (DATABASE_URL, or the embedded one under DATA_DIR), audited with who ran it and how many
// ended. Run it after a breach: rotating AUTH_SECRET signs nobody out. With the embedded
// database, stop the app first: PGlite allows one process per data folder.
// Run through tsx with the react-server condition, as lib/ modules are server-only.
import { hostname, userInfo } from "node:os";
import { endAllSessions } from "../lib/admin/end-all-sessions.ts";
import { getDatabase } from "../lib/db.ts";
import { env } from "../lib/env.ts";

function operatorName(): string {
  const fromEnv = process.env.SUDO_USER || process.env.USER || process.env.LOGNAME;
  if (fromEnv) return fromEnv;
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

const config = env();
const handle = await getDatabase();
try {
  const result = await endAllSessions(handle.db, { via: "script", operator: operatorName(), host: hostname() });
  const where = config.DATABASE_URL ? handle.driver : `${handle.driver}, ${config.DATA_DIR}/pglite`;
  console.log(
    `Ended ${result.sessionsEnded} session(s) and ${result.signInStepsEnded} pending sign-in step(s) (${where}). ` +
      "Every user must sign in again.",
  );
} finally {
  await handle.close();
}
