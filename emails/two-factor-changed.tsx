import { Link, Text } from "@react-email/components";
import { EmailLayout, formatEmailTime, textStyle, WhenAndWhere } from "./layout";

export interface TwoFactorChangedEmailProps {
  /** What happened, one sentence ("Two-factor authentication was turned on for your account."). */
  summary: string;
  /** What it means and what to do if it was not you. */
  advice: string;
  /** Already formatted (formatEmailTime): every prop is text, so lib/mail fills a cached render. */
  when: string;
  /** "unknown" when there is none. */
  ip: string;
  browser: string;
  twoFactorUrl: string;
  forgotPasswordUrl: string;
}

export default function TwoFactorChangedEmail({
  summary,
  advice,
  when,
  ip,
  browser,
  twoFactorUrl,
  forgotPasswordUrl,
}: TwoFactorChangedEmailProps) {
  return (
    <EmailLayout preview={summary}>
      <Text style={textStyle}>{summary}</Text>
      <WhenAndWhere when={when} ip={ip} browser={browser} />
      <Text style={textStyle}>{advice}</Text>
      <Text style={textStyle}>
        Your two-factor settings: <Link href={twoFactorUrl}>{twoFactorUrl}</Link>
      </Text>
      <Text style={textStyle}>
        Reset your password: <Link href={forgotPasswordUrl}>{forgotPasswordUrl}</Link>
      </Text>
    </EmailLayout>
  );
}

TwoFactorChangedEmail.PreviewProps = {
  summary: "Two-factor authentication was turned on for your Rekey account.",
  advice: "From now on, signing in and resetting your password also ask for a code from your authenticator app.",
  when: formatEmailTime(new Date("2026-11-22T10:05:00Z")),
  ip: "203.0.113.7",
  browser: "Chrome 156 on Linux",
  twoFactorUrl: "http://localhost:3000/account/two-factor",
  forgotPasswordUrl: "http://localhost:3000/forgot-password",
} satisfies TwoFactorChangedEmailProps;
