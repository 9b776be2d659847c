"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { requestAccountDeletion } from "@/lib/accounts/delete-account";
import { getDb } from "@/lib/db";
import { requireAdmin, requireRecentPasswordCheck } from "@/lib/admin/access";
import { findAccountByEmail, forcePasswordReset, resendVerificationForUser, signOutEverywhere } from "@/lib/admin/users";
import { requestContext } from "@/lib/client-ip";
import { removeTwoFactorByAdmin } from "@/lib/second-factor/enrolment";
import { AdminFindUserSchema } from "@/lib/validation/forms";
import { afterResponse } from "@/lib/job-definitions";

type Field = "email";

// Every action is a public endpoint: each checks for an admin again (a layout does not run
// for actions), and those that change an account also for a recent password check.

/** "Email": finds one account by its exact address (a POST, so the address stays out of URLs and logs). */
export async function findUserAction(_previous: FormState<Field>, formData: FormData): Promise<FormState<Field>> {
  const admin = await requireAdmin();
  const raw = formData.get("email");
  const parsed = AdminFindUserSchema.safeParse({ email: raw });
  const values = { email: typeof raw === "string" ? raw : "" };
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<Field>(parsed.error), values };
  const account = await findAccountByEmail(await getDb(), parsed.data.email, { adminId: admin.userId, ...requestContext(await headers()) });
  if (!account) return { status: "error", fieldErrors: { email: ["No account has that address."] }, values };
  redirect(`/admin/users/${account.id}`);
}

const USER_ID = /^[A-Za-z0-9-]{1,64}$/;

/** The posted account id and the acting admin, or the answer for a stale password check. */
async function prepare(formData: FormData) {
  const db = await getDb();
  const check = await requireRecentPasswordCheck(db);
  const userId = formData.get("userId");
  if (typeof userId !== "string" || !USER_ID.test(userId)) redirect("/admin/users");
  const page = `/admin/users/${userId}`;
  if (!check.ok) redirect(`${page}?notice=password-needed`);
  return { db, page, userId, request: { adminId: check.admin.userId, ...requestContext(await headers()) } };
}

export async function signOutEverywhereAction(formData: FormData): Promise<void> {
  const { db, page, userId, request } = await prepare(formData);
  const ended = await signOutEverywhere(db, userId, request);
  redirect(`${page}?notice=${ended === null ? "not-found" : "signed-out"}`);
}

export async function forcePasswordResetAction(formData: FormData): Promise<void> {
  const { db, page, userId, request } = await prepare(formData);
  const result = await forcePasswordReset(db, userId, request, afterResponse);
  redirect(`${page}?notice=${result.ok ? "reset-forced" : "not-found"}`);
}

export async function resendVerificationAction(formData: FormData): Promise<void> {
  const { db, page, userId, request } = await prepare(formData);
  const result = await resendVerificationForUser(db, userId, request, afterResponse);
  redirect(`${page}?notice=${result.ok ? "verification-sent" : result.code === "ALREADY_CONFIRMED" ? "already-confirmed" : "not-found"}`);
}

/** "Remove two-factor": for an owner who lost both the authenticator and the recovery codes. */
export async function removeTwoFactorAction(formData: FormData): Promise<void> {
  const { db, page, userId, request } = await prepare(formData);
  const result = await removeTwoFactorByAdmin(db, { userId, ...request }, afterResponse);
  redirect(`${page}?notice=${result.ok ? "two-factor-removed" : "two-factor-off"}`);
}

/** "Delete account": the owner's own deletion (restorable with the emailed link), audited with the admin's id. */
export async function deleteAccountAction(formData: FormData): Promise<void> {
  const { db, page, userId, request } = await prepare(formData);
  const typed = formData.get("email");
  const result = await requestAccountDeletion(
    db,
    { userId, adminId: request.adminId, typedEmail: typeof typed === "string" ? typed : "", ip: request.ip, userAgent: request.userAgent },
    afterResponse,
  );
  const notice = result.ok
    ? "deleted"
    : result.code === "EMAIL_MISMATCH"
      ? "delete-mismatch"
      : result.code === "NOT_FOUND"
        ? "not-found"
        : "deleted";
  redirect(`${page}?notice=${notice}`);
}
