import type { Metadata } from "next";
import { requireSession } from "@/lib/auth/current";
import { AccountNav } from "../account-nav";
import { ChangePasswordForm } from "./change-password-form";

export const metadata: Metadata = { title: "Change password" };

export default async function ChangePasswordPage() {
  await requireSession("/account/password");
  return (
    <div className="card stack">
      <AccountNav current="/account/password" />
      <h1>Change password</h1>
      <p className="lead">Every other device signed in to your account will be signed out; this one stays signed in.</p>
      <ChangePasswordForm />
    </div>
  );
}
