"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { getDb } from "@/db/client";
import { requestContext } from "@/lib/client-ip";
import { verifyEmail } from "@/lib/email-verification";

export async function verifyEmailAction(formData: FormData): Promise<void> {
  const token = formData.get("token");
  if (typeof token !== "string") redirect("/");
  const requestHeaders = await headers();
  const result = await verifyEmail(await getDb(), token, requestContext(requestHeaders));
  redirect(result.ok ? `/verify-email/${encodeURIComponent(token)}?verified=1` : `/verify-email/${encodeURIComponent(token)}`);
}
