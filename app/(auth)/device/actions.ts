"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { fieldErrorsOf, type FormState } from "@/app/_components/form-state";
import { requireSession } from "@/lib/auth/current";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { decideDeviceRequest, findDeviceRequest, reviewReference } from "@/lib/device/approval";
import { describeWait } from "@/lib/rate-limit";
import { DeviceCodeSchema } from "@/lib/validation/device-code";
import { devicePath } from "./paths";

type Field = "code";

const PROBLEMS = {
  NOT_FOUND: "No request has that code. Check it against the code the tool shows.",
  EXPIRED: "That code has expired. Start again in the tool for a new one.",
  DECIDED: "That code has already been approved or denied. Start again in the tool for a new one.",
} as const;

/** The code a person typed: counted against the limits, then to its review step. */
export async function findDeviceCodeAction(_previous: FormState<Field>, formData: FormData): Promise<FormState<Field>> {
  const session = await requireSession(devicePath());
  const code = formData.get("code");
  const values = { code: typeof code === "string" ? code.slice(0, 64) : "" };
  const parsed = DeviceCodeSchema.safeParse({ code });
  if (!parsed.success) return { status: "error", fieldErrors: fieldErrorsOf<Field>(parsed.error), values };
  const result = await findDeviceRequest(await getDb(), {
    userId: session.user.id,
    userCode: parsed.data.code,
    ...requestContext(await headers()),
  });
  if (!result.ok) {
    if (result.code === "RATE_LIMITED") {
      return { status: "error", formError: `Too many tries. Try again in ${describeWait(result.retryAfterSeconds)}.`, values };
    }
    return { status: "error", fieldErrors: { code: [PROBLEMS[result.code]] }, values };
  }
  redirect(devicePath({ review: reviewReference(result.request.id, session.sessionId) }));
}

/** Approve or deny (two buttons of one form): a POST, never a link. */
export async function decideDeviceAction(formData: FormData): Promise<void> {
  const reference = String(formData.get("review") ?? "");
  const decision = formData.get("decision") === "approve" ? "approve" : "deny";
  const session = await requireSession(devicePath({ review: reference }));
  const result = await decideDeviceRequest(await getDb(), {
    reference,
    decision,
    userId: session.user.id,
    sessionId: session.sessionId,
    ...requestContext(await headers()),
  });
  if (result.ok) redirect(devicePath({ done: decision === "approve" ? "approved" : "denied" }));
  // Back to the review step, which asks "Confirm it's you" now.
  if (result.code === "CONFIRMATION_NEEDED") redirect(devicePath({ review: reference }));
  redirect(devicePath({ notice: "gone" }));
}
