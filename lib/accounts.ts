import "server-only";
import type { Database } from "@/db/client";
import { users } from "@/db/schema";
import { audit } from "./audit";
import { hashPassword } from "./passwords";
import { normalizeEmail } from "./validation/fields";

export type RegisterResult = { ok: true; userId: string } | { ok: false; code: "EMAIL_TAKEN" };

/**
 * Creates an account. The email is normalised here as well, so no caller can store a second
 * spelling of an address; uniqueness is the database's unique index, not a prior look-up.
 */
export async function registerUser(
  db: Database,
  input: { email: string; password: string; name?: string | undefined; ip?: string | null; userAgent?: string | null },
): Promise<RegisterResult> {
  const email = normalizeEmail(input.email);
  const passwordHash = await hashPassword(input.password);
  const [created] = await db
    .insert(users)
    .values({ email, name: input.name ?? null, passwordHash, passwordChangedAt: new Date() })
    .onConflictDoNothing({ target: users.email })
    .returning({ id: users.id });
  if (!created) return { ok: false, code: "EMAIL_TAKEN" };
  await audit(db, { event: "user.registered", userId: created.id, ip: input.ip, userAgent: input.userAgent });
  return { ok: true, userId: created.id };
}
