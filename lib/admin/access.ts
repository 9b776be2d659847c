import "server-only";
import { eq } from "drizzle-orm";
import { notFound } from "next/navigation";
import { getDb } from "@/db/client";
import { users } from "@/db/schema";
import { currentSession } from "@/lib/auth/current";
import { env } from "@/lib/env";
import { normalizeEmail } from "@/lib/validation/fields";

export interface AdminContext {
  userId: string;
  email: string;
}

/** True when `email` is listed in ADMIN_EMAILS (compared normalised). */
export function isAdminEmail(email: string): boolean {
  return env().ADMIN_EMAILS.includes(normalizeEmail(email));
}

/**
 * The signed-in admin, or a 404 for everyone else, signed in or not: a 403 would tell a
 * visitor the area exists. Only a confirmed account counts, so registering an unclaimed
 * listed address gives nothing until its owner proves it.
 */
export async function requireAdmin(): Promise<AdminContext> {
  const session = await currentSession();
  const userId = session?.user?.id;
  if (!userId) notFound();
  const [user] = await (await getDb())
    .select({ email: users.email, emailVerified: users.emailVerified })
    .from(users)
    .where(eq(users.id, userId));
  if (!user || !user.emailVerified || !isAdminEmail(user.email)) notFound();
  return { userId, email: user.email };
}
