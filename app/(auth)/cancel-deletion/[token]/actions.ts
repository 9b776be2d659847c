"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { cancelAccountDeletion } from "@/lib/accounts/delete-account";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { afterResponse } from "@/lib/job-definitions";

export async function cancelDeletionAction(formData: FormData): Promise<void> {
  const token = formData.get("token");
  if (typeof token !== "string") redirect("/");
  const result = await cancelAccountDeletion(await getDb(), token, requestContext(await headers()), afterResponse);
  const page = `/cancel-deletion/${encodeURIComponent(token)}`;
  redirect(result.ok ? `${page}?done=1` : page);
}
