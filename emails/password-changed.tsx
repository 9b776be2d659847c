import { Link, Text } from "@react-email/components";
import { EmailLayout, WasntMeFooter, formatEmailTime, textStyle } from "./layout";

export interface PasswordChangedEmailProps {
  /** Already formatted (formatEmailTime): every prop is text, so lib/mail fills a cached render. */
  changedAt: string;
  /** "unknown" when there is none. */
  ip: string;
  browser: string;
  forgotPasswordUrl: string;
  /** One-time "This wasn't me" link: signs out everywhere and locks the password. */
  reportUrl: string;
  /** The account's passkeys by name ("“Laptop”, “Phone”"); absent when it has none. */
  passkeys?: string;
  /** Where to remove them all (the sessions page); given with `passkeys`. */
  sessionsUrl?: string;
}

export const passwordChangedSubject = "Your Rekey password was changed";

export default function PasswordChangedEmail({
  changedAt,
  ip,
  browser,
  forgotPasswordUrl,
  reportUrl,
  passkeys,
  sessionsUrl,
}: PasswordChangedEmailProps) {
  return (
    <EmailLayout preview="Your password was just changed.">
      <Text style={textStyle}>The password of your Rekey account was changed.</Text>
      <Text style={textStyle}>
        When: {changedAt}
        <br />
        IP address: {ip}
        <br />
        Browser: {browser}
      </Text>
      <Text style={textStyle}>Devices that were signed in with the old password have been signed out.</Text>
      {passkeys ? (
        <Text style={textStyle}>
          Your account also has these passkeys, which sign in without the password: {passkeys}. If you do not recognise one, remove them all
          on your sessions page: <Link href={sessionsUrl}>{sessionsUrl}</Link>
        </Text>
      ) : null}
      <WasntMeFooter
        lead="If it wasn't you, someone may know your password or have access to this email account."
        reportUrl={reportUrl}
        forgotPasswordUrl={forgotPasswordUrl}
      />
    </EmailLayout>
  );
}

PasswordChangedEmail.PreviewProps = {
  changedAt: formatEmailTime(new Date("2026-11-21T10:05:00Z")),
  ip: "203.0.113.7",
  browser: "Chrome 156 on Linux",
  forgotPasswordUrl: "http://localhost:3000/forgot-password",
  reportUrl: "http://localhost:3000/wasnt-me/preview-token",
} satisfies PasswordChangedEmailProps;
