"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { getDb } from "@/lib/db";
import { recordPasswordCheck, requireAdmin, requireRecentPasswordCheck } from "@/lib/admin/access";
import { endAllSessions } from "@/lib/admin/end-all-sessions";
import { requestContext } from "@/lib/client-ip";
import { describeWait } from "@/lib/rate-limit";
import { AdminPasswordCheckSchema } from "@/lib/validation/forms";

type Field = "password";

/** Only paths inside /admin: the hidden field is posted by the client and must not steer elsewhere. */
function adminPath(value: FormDataEntryValue | null): string {
  return typeof value === "string" && /^\/admin(\/[A-Za-z0-9/_-]*)?$/.test(value) ? value : "/admin";
}

/** "Password": re-verifies the admin's password and records the time on this session. */
export async function checkAdminPasswordAction(_previous: FormState<Field>, formData: FormData): Promise<FormState<Field>> {
  const admin = await requireAdmin();
  const parsed = AdminPasswordCheckSchema.safeParse({ password: formData.get("password") });
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<Field>(parsed.error) };
  const result = await recordPasswordCheck(await getDb(), admin, parsed.data.password, requestContext(await headers()));
  if (!result.ok && result.code === "RATE_LIMITED") {
    return { status: "error", formError: `Too many tries. Try again in ${describeWait(result.retryAfterSeconds)}.` };
  }
  if (!result.ok) return { status: "error", fieldErrors: { password: ["That is not your password."] } };
  redirect(`${adminPath(formData.get("returnTo"))}?notice=password-checked`);
}

/**
 * "End every session": signs out every user, this admin included, and drops every pending
 * second sign-in step. Needs the recent password check and the ticked confirmation.
 */
export async function endAllSessionsAction(formData: FormData): Promise<void> {
  const db = await getDb();
  const check = await requireRecentPasswordCheck(db);
  if (!check.ok) redirect("/admin/users?notice=password-needed");
  if (formData.get("confirm") !== "yes") redirect("/admin/users?notice=confirm-needed");
  await endAllSessions(db, { via: "admin", adminId: check.admin.userId, ...requestContext(await headers()) });
  redirect("/login?notice=all-signed-out");
}
