// `npm run db:migrate`: applies pending migrations to DATABASE_URL, or to the embedded
// database under DATA_DIR. The app also does this itself when it starts; this is for
// deployments that migrate in a release step. Stop `npm run dev` first when using the
// embedded database: PGlite allows one process per data folder.
import { getDatabase } from "../lib/db.ts";
import { env } from "../lib/env.ts";

const config = env();
const handle = await getDatabase();
console.log(`Migrations applied (${handle.driver}${config.DATABASE_URL ? "" : `, ${config.DATA_DIR}/pglite`}).`);
await handle.close();
