import type { Metadata } from "next";
import { RegisterForm } from "./register-form";

export const metadata: Metadata = { title: "Create an account" };

export default function RegisterPage() {
  return (
    <div className="card stack">
      <h1>Create an account</h1>
      <RegisterForm />
    </div>
  );
}
