"use server";

import { cookies, headers } from "next/headers";
import { deviceCookieName, sessionCookieName } from "@/lib/auth/cookie-names";
import { redirect } from "next/navigation";
import { confirmIdentityRefusal, type ConfirmField } from "@/app/_components/confirm-identity-copy";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { getDb } from "@/lib/db";
import { recordPasswordCheck, requireAdmin, requireRecentPasswordCheck } from "@/lib/admin/access";
import { endAllSessions } from "@/lib/admin/end-all-sessions";
import { requestContext } from "@/lib/client-ip";
import { afterResponse } from "@/lib/job-definitions";
import { ConfirmIdentitySchema } from "@/lib/validation/confirm-identity";
import { postedPasskey } from "@/app/_components/posted-passkey";

/** Only paths inside /admin: the hidden field is posted by the client and must not steer elsewhere. */
function adminPath(value: FormDataEntryValue | null): string {
  return typeof value === "string" && /^\/admin(\/[A-Za-z0-9/_-]*)?$/.test(value) ? value : "/admin";
}

/** The admin's "Confirm it's you": the password (and a code or the passkey) re-entered, recorded on this session. */
export async function checkAdminPasswordAction(_previous: FormState<ConfirmField>, formData: FormData): Promise<FormState<ConfirmField>> {
  const admin = await requireAdmin();
  const parsed = ConfirmIdentitySchema.safeParse({
    password: formData.get("password") ?? undefined,
    code: formData.get("code") ?? undefined,
  });
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<ConfirmField>(parsed.error) };
  const jar = await cookies();
  const result = await recordPasswordCheck(
    await getDb(),
    admin,
    {
      ...parsed.data,
      passkey: postedPasskey(formData, jar.get(sessionCookieName())?.value),
      deviceCookie: jar.get(deviceCookieName())?.value ?? null,
    },
    requestContext(await headers()),
    afterResponse,
  );
  if (!result.ok) return confirmIdentityRefusal(result);
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
