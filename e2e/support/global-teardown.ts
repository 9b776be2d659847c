import postgres from "postgres";
import { E2E } from "./settings";

/** Drops the run's database (the server may still hold connections: FORCE ends them). */
export default async function globalTeardown(): Promise<void> {
  const name = new URL(E2E.databaseUrl).pathname.slice(1);
  const admin = postgres(E2E.adminDatabaseUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
  }
}
