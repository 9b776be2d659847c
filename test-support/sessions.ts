// Sessions for tests that need a signed-in user but are not about signing in.
import { eq } from "drizzle-orm";
import type { Database } from "@/db/client";
import { users } from "@/db/schema";
import { createSession } from "@/lib/auth/sessions";

/** A session for the user's current credentials, as a sign-in just now would store it. */
export async function insertSession(
  db: Database,
  input: { userId: string; userAgent: string | null; ip: string | null; secondFactor?: boolean },
): Promise<{ sessionToken: string; id: string; expires: Date }> {
  const [user] = await db.select({ credentialsVersion: users.credentialsVersion }).from(users).where(eq(users.id, input.userId));
  if (!user) throw new Error(`no user ${input.userId}`);
  const created = await createSession(db, { ...input, credentialsVersion: user.credentialsVersion });
  if (!created) throw new Error(`no session stored for user ${input.userId}`);
  return created;
}
