import { defineConfig } from "drizzle-kit";

// drizzle-kit generate needs no database. `db:studio` uses DATABASE_URL, or the embedded
// database folder: stop `npm run dev` first (PGlite allows one process per folder).
export default defineConfig({
  dialect: "postgresql",
  schema: "./db/schema.ts",
  out: "./db/migrations",
  casing: undefined,
  ...(process.env.DATABASE_URL
    ? { dbCredentials: { url: process.env.DATABASE_URL } }
    : { driver: "pglite", dbCredentials: { url: `${process.env.DATA_DIR ?? ".data"}/pglite` } }),
  strict: true,
  verbose: true,
});
