import { Text } from "@react-email/components";
import { EmailLayout, WasntMeFooter, formatEmailTime, textStyle } from "./layout";

export interface EmailChangedEmailProps {
  /** Already formatted (formatEmailTime). */
  changedAt: string;
  /** The new address, masked. */
  newEmail: string;
  /** "unknown" when there is none. */
  ip: string;
  browser: string;
  forgotPasswordUrl: string;
  /** One-time undo link (7 days): puts this address back, signs out everywhere, sends a reset link here. */
  undoUrl: string;
}

export const emailChangedSubject = "The email address of your Rekey account was changed";

export default function EmailChangedEmail({ changedAt, newEmail, ip, browser, forgotPasswordUrl, undoUrl }: EmailChangedEmailProps) {
  return (
    <EmailLayout preview="Your account's email address was just changed.">
      <Text style={textStyle}>The email address of your Rekey account was changed to {newEmail}. Emails now go there, not here.</Text>
      <Text style={textStyle}>
        When: {changedAt}
        <br />
        IP address: {ip}
        <br />
        Browser: {browser}
      </Text>
      <WasntMeFooter
        lead="If it wasn't you, use the link within 7 days to put this address back."
        reportUrl={undoUrl}
        forgotPasswordUrl={forgotPasswordUrl}
      />
    </EmailLayout>
  );
}

EmailChangedEmail.PreviewProps = {
  changedAt: formatEmailTime(new Date("2026-11-21T10:05:00Z")),
  newEmail: "n***@example.com",
  ip: "203.0.113.7",
  browser: "Chrome 156 on Linux",
  forgotPasswordUrl: "http://localhost:3000/forgot-password",
  undoUrl: "http://localhost:3000/email-change/undo/preview-token",
} satisfies EmailChangedEmailProps;
