import type { Metadata } from "next";
import { ForgotPasswordForm } from "./forgot-password-form";

export const metadata: Metadata = { title: "Forgot password" };

export default function ForgotPasswordPage() {
  return (
    <div className="card stack">
      <h1>Forgot your password?</h1>
      <ForgotPasswordForm />
    </div>
  );
}
