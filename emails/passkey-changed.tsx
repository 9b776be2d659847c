import { Link, Text } from "@react-email/components";
import { EmailLayout, WasntMeFooter, formatEmailTime, textStyle, WhenAndWhere } from "./layout";

export interface PasskeyChangedEmailProps {
  /** What happened, one sentence ("A passkey named “Work laptop” was added to your Rekey account."). */
  summary: string;
  /** Already formatted (formatEmailTime): every prop is text, so lib/mail fills a cached render. */
  when: string;
  /** "unknown" when there is none. */
  ip: string;
  browser: string;
  passkeysUrl: string;
  forgotPasswordUrl: string;
  /** One-time "This wasn't me" link: signs out everywhere, locks the password, removes passkeys added since. */
  reportUrl: string;
}

export default function PasskeyChangedEmail({
  summary,
  when,
  ip,
  browser,
  passkeysUrl,
  forgotPasswordUrl,
  reportUrl,
}: PasskeyChangedEmailProps) {
  return (
    <EmailLayout preview={summary}>
      <Text style={textStyle}>{summary}</Text>
      <WhenAndWhere when={when} ip={ip} browser={browser} />
      <Text style={textStyle}>
        Your passkeys: <Link href={passkeysUrl}>{passkeysUrl}</Link>
      </Text>
      <WasntMeFooter
        lead="If it wasn't you, someone is signed in to your account and knows your password. The link also removes every passkey added since."
        reportUrl={reportUrl}
        forgotPasswordUrl={forgotPasswordUrl}
      />
    </EmailLayout>
  );
}

PasskeyChangedEmail.PreviewProps = {
  summary: "A passkey named “Work laptop” was added to your Rekey account.",
  when: formatEmailTime(new Date("2026-12-06T10:05:00Z")),
  ip: "203.0.113.7",
  browser: "Chrome 156 on Linux",
  passkeysUrl: "http://localhost:3000/account/passkeys",
  forgotPasswordUrl: "http://localhost:3000/forgot-password",
  reportUrl: "http://localhost:3000/wasnt-me/preview-token",
} satisfies PasskeyChangedEmailProps;
