import { Link, Text } from "@react-email/components";
import { EmailLayout, formatEmailTime, textStyle } from "./layout";

export interface PasswordChangedEmailProps {
  changedAt: Date;
  ip: string | null;
  browser: string;
  forgotPasswordUrl: string;
}

export const passwordChangedSubject = "Your Rekey password was changed";

export default function PasswordChangedEmail({ changedAt, ip, browser, forgotPasswordUrl }: PasswordChangedEmailProps) {
  return (
    <EmailLayout preview="Your password was just changed.">
      <Text style={textStyle}>The password of your Rekey account was changed.</Text>
      <Text style={textStyle}>
        When: {formatEmailTime(changedAt)}
        <br />
        IP address: {ip ?? "unknown"}
        <br />
        Browser: {browser}
      </Text>
      <Text style={textStyle}>Every device that was signed in has been signed out.</Text>
      <Text style={textStyle}>
        If this was you, there is nothing to do. If it wasn&apos;t you, reset your password now at{" "}
        <Link href={forgotPasswordUrl}>{forgotPasswordUrl}</Link> and check the email account this message came to:
        someone may have access to it.
      </Text>
    </EmailLayout>
  );
}

PasswordChangedEmail.PreviewProps = {
  changedAt: new Date("2026-11-21T10:05:00Z"),
  ip: "203.0.113.7",
  browser: "Chrome 156 on Linux",
  forgotPasswordUrl: "http://localhost:3000/forgot-password",
} satisfies PasswordChangedEmailProps;
