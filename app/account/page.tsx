import type { Metadata } from "next";
import { FormAlert } from "@/app/_components/fields";
import { requireSession } from "@/lib/auth/current";
import { AccountNav } from "./account-nav";
import { signOutAction } from "./actions";

export const metadata: Metadata = { title: "Your account" };

function noticeFor(notice: string | undefined): { tone: "success" | "error"; text: string } | null {
  switch (notice) {
    case "password-changed":
      return { tone: "success", text: "Your password has been changed. Every other device has been signed out." };
    default:
      return null;
  }
}

export default async function AccountPage({ searchParams }: { searchParams: Promise<{ notice?: string }> }) {
  const session = await requireSession("/account");
  const { notice } = await searchParams;
  const message = noticeFor(notice);
  return (
    <div className="card wide stack">
      <AccountNav current="/account" />
      <h1>Your account</h1>
      {message ? (
        <FormAlert tone={message.tone}>
          <p>{message.text}</p>
        </FormAlert>
      ) : null}
      <dl className="details">
        <dt>Email</dt>
        <dd data-testid="account-email">{session.user.email}</dd>
        <dt>Email confirmed</dt>
        <dd data-testid="email-verified">{session.user.emailVerified ? "Yes" : "Not yet"}</dd>
        {session.user.name ? (
          <>
            <dt>Name</dt>
            <dd>{session.user.name}</dd>
          </>
        ) : null}
      </dl>
      <form action={signOutAction}>
        <button type="submit" className="secondary">
          Sign out
        </button>
      </form>
    </div>
  );
}
