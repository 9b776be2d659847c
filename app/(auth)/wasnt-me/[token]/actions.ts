"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { getDb } from "@/lib/db";
import { requestContext } from "@/lib/client-ip";
import { reportPasswordChange } from "@/lib/recovery/wasnt-me";
import { afterResponse } from "@/lib/job-definitions";

export async function reportPasswordChangeAction(formData: FormData): Promise<void> {
  const token = formData.get("token");
  if (typeof token !== "string") redirect("/");
  const requestHeaders = await headers();
  const result = await reportPasswordChange(await getDb(), token, requestContext(requestHeaders), afterResponse);
  redirect(result.ok ? `/wasnt-me/${encodeURIComponent(token)}?done=1` : `/wasnt-me/${encodeURIComponent(token)}`);
}
