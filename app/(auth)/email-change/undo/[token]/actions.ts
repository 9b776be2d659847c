"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { undoEmailChange } from "@/lib/accounts/undo-email-change";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { afterResponse } from "@/lib/job-definitions";

export async function undoEmailChangeAction(formData: FormData): Promise<void> {
  const token = formData.get("token");
  if (typeof token !== "string") redirect("/");
  const result = await undoEmailChange(await getDb(), token, requestContext(await headers()), afterResponse);
  const page = `/email-change/undo/${encodeURIComponent(token)}`;
  if (result.ok) redirect(`${page}?done=1`);
  redirect(result.code === "ADDRESS_TAKEN" ? `${page}?taken=1` : page);
}
