"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { after } from "next/server";
import { getDb } from "@/db/client";
import { signOut } from "@/lib/auth/config";
import { requireSession } from "@/lib/auth/current";
import { requestContext } from "@/lib/client-ip";
import { resendVerificationEmail } from "@/lib/email-verification";

export async function signOutAction(): Promise<void> {
  await signOut({ redirectTo: "/login?notice=signed-out" });
}

export async function resendVerificationAction(): Promise<void> {
  const session = await requireSession("/account");
  const requestHeaders = await headers();
  const result = await resendVerificationEmail(
    await getDb(),
    session.user.id,
    requestContext(requestHeaders),
    (task) => after(task),
  );
  if (result.ok) redirect("/account?notice=verification-sent");
  if (result.code === "ALREADY_VERIFIED") redirect("/account?notice=already-verified");
  redirect(`/account?notice=verification-throttled&wait=${Math.ceil(result.retryAfterSeconds / 60)}`);
}
