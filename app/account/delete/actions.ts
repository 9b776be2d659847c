"use server";

import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { confirmationNeededMessage } from "@/app/_components/confirm-identity-copy";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { requestAccountDeletion } from "@/lib/accounts/delete-account";
import { reauthMinutes } from "@/lib/auth/confirm-identity";
import { sessionCookieName } from "@/lib/auth/cookie-names";
import { requireSession } from "@/lib/auth/current";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { afterResponse } from "@/lib/job-definitions";
import { DeleteAccountSchema } from "@/lib/validation/delete-account";

const PAGE = "/account/delete";

/** Deletes the signed-in account (restorable during the grace period), for a session that confirmed it's the owner. */
export async function deleteAccountAction(_previous: FormState<"email">, formData: FormData): Promise<FormState<"email">> {
  const session = await requireSession(PAGE);
  const parsed = DeleteAccountSchema.safeParse({ email: formData.get("email") });
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<"email">(parsed.error) };
  const result = await requestAccountDeletion(
    await getDb(),
    { userId: session.user.id, sessionId: session.sessionId, typedEmail: parsed.data.email, ...requestContext(await headers()) },
    afterResponse,
  );
  if (!result.ok) {
    switch (result.code) {
      case "EMAIL_MISMATCH":
        return {
          status: "error",
          fieldErrors: { email: ["That is not this account's email address. Type the address you sign in with."] },
          values: { email: parsed.data.email },
        };
      case "CONFIRMATION_NEEDED":
        return { status: "error", formError: confirmationNeededMessage(reauthMinutes()) };
      case "ALREADY_PENDING":
      case "NOT_FOUND":
        // Deleted a moment ago by another request: this session has ended with it.
        break;
    }
  }
  // Its session row is gone; the cookie goes too.
  (await cookies()).delete(sessionCookieName());
  redirect("/account-deleted");
}
