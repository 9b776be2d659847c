import { Button, Link, Text } from "@react-email/components";
import { buttonStyle, EmailLayout, formatEmailTime, textStyle } from "./layout";

export interface AccountDeletionEmailProps {
  /** Already formatted (formatEmailTime): every prop is text. */
  deletedAt: string;
  /** The last moment the link works, formatted. */
  erasedAfter: string;
  /** "you" (the owner deleted it) or "an administrator". */
  by: string;
  cancelUrl: string;
}

export const accountDeletionSubject = "Your Rekey account is being deleted";

// Sent when an account is deleted (by its owner or an administrator): the only way back during
// the grace period, so it goes to the address even though the account can no longer sign in.
export default function AccountDeletionEmail({ deletedAt, erasedAfter, by, cancelUrl }: AccountDeletionEmailProps) {
  return (
    <EmailLayout preview="Your account will be erased unless you cancel.">
      <Text style={textStyle}>
        Your Rekey account was deleted by {by} on {deletedAt}. Every session was signed out, and the account can no longer be signed in to.
      </Text>
      <Text style={textStyle}>
        It will be erased for good after {erasedAfter}. Until then you can cancel the deletion: the account comes back, and we email you a
        link to choose a new password.
      </Text>
      <Button href={cancelUrl} style={buttonStyle}>
        Cancel the deletion
      </Button>
      <Text style={textStyle}>
        Or paste this link into your browser: <Link href={cancelUrl}>{cancelUrl}</Link>
      </Text>
      <Text style={textStyle}>If you meant to delete your account, you need not do anything.</Text>
    </EmailLayout>
  );
}

AccountDeletionEmail.PreviewProps = {
  deletedAt: formatEmailTime(new Date("2026-11-21T10:00:00Z")),
  erasedAfter: formatEmailTime(new Date("2026-12-05T10:00:00Z")),
  by: "you",
  cancelUrl: "http://localhost:3000/cancel-deletion/abc",
} satisfies AccountDeletionEmailProps;
