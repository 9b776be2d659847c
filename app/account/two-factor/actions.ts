"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { confirmationNeededMessage } from "@/app/_components/confirm-identity-copy";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { tooManyCodesMessage } from "@/app/_components/second-factor-copy";
import { getDb } from "@/lib/db";
import { reauthMinutes } from "@/lib/auth/confirm-identity";
import { requireSession } from "@/lib/auth/current";
import { requestContext } from "@/lib/client-ip";
import { confirmEnrolment, disableTwoFactor, replaceRecoveryCodes } from "@/lib/second-factor/enrolment";
import { EnableTwoFactorSchema } from "@/lib/validation/forms";
import { afterResponse } from "@/lib/job-definitions";

const PAGE = "/account/two-factor";
const WRONG_CODE = "That code is not right. Enter the code your app shows now (check that your device's clock is correct).";

// Every change here needs "Confirm it's you" within REAUTH_MINUTES, checked again by lib/ inside
// the change's transaction: the page hiding a form proves nothing about a forged post.

/** "2 other sessions were signed out", or nothing when none were. */
function signedOutSentence(count: number): string {
  if (count === 0) return "";
  return count === 1 ? " 1 other session was signed out." : ` ${count} other sessions were signed out.`;
}

/** Confirms the offered key with a code from the app; the answer carries the recovery codes, once. */
export async function enableTwoFactorAction(_previous: FormState<"code">, formData: FormData): Promise<FormState<"code">> {
  const session = await requireSession(PAGE);
  const parsed = EnableTwoFactorSchema.safeParse({ code: formData.get("code") });
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<"code">(parsed.error) };
  const result = await confirmEnrolment(
    await getDb(),
    { userId: session.user.id, sessionId: session.sessionId, code: parsed.data.code, ...requestContext(await headers()) },
    afterResponse,
  );
  if (result.ok) {
    return {
      status: "success",
      message: `Two-factor authentication is on.${signedOutSentence(result.otherSessionsEnded)}`,
      recoveryCodes: result.recoveryCodes,
    };
  }
  switch (result.code) {
    case "INVALID_CODE":
      return { status: "error", fieldErrors: { code: [WRONG_CODE] } };
    case "RATE_LIMITED":
      return { status: "error", formError: tooManyCodesMessage(result.retryAfterSeconds) };
    case "CONFIRMATION_NEEDED":
      return { status: "error", formError: confirmationNeededMessage(reauthMinutes()) };
    case "ENROLMENT_EXPIRED":
      return { status: "error", formError: "This setup key has expired. Reload the page for a new one, and add that to your app instead." };
    case "ALREADY_ENABLED":
      redirect(PAGE);
  }
}

/** Replaces every recovery code; the answer carries the new ones, once. */
export async function newRecoveryCodesAction(): Promise<FormState> {
  const session = await requireSession(PAGE);
  const result = await replaceRecoveryCodes(
    await getDb(),
    { userId: session.user.id, sessionId: session.sessionId, ...requestContext(await headers()) },
    afterResponse,
  );
  if (result.ok) {
    return {
      status: "success",
      message: "New recovery codes made. The old ones no longer work. We emailed you about it.",
      recoveryCodes: result.recoveryCodes,
    };
  }
  if (result.code === "CONFIRMATION_NEEDED") return { status: "error", formError: confirmationNeededMessage(reauthMinutes()) };
  return { status: "error", formError: "Two-factor authentication is not on, so there are no recovery codes to replace." };
}

/** Turns two-factor authentication off, for a session that confirmed it's the owner. */
export async function disableTwoFactorAction(): Promise<FormState> {
  const session = await requireSession(PAGE);
  const result = await disableTwoFactor(
    await getDb(),
    { userId: session.user.id, sessionId: session.sessionId, ...requestContext(await headers()) },
    afterResponse,
  );
  if (!result.ok && result.code === "CONFIRMATION_NEEDED")
    return { status: "error", formError: confirmationNeededMessage(reauthMinutes()) };
  redirect(result.ok ? `${PAGE}?notice=off` : PAGE);
}
