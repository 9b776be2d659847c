import { Text } from "@react-email/components";
import { EmailLayout, WasntMeFooter, formatEmailTime, textStyle, WhenAndWhere } from "./layout";

export interface NewDeviceSignInEmailProps {
  /** Already formatted (formatEmailTime): every prop is text, so lib/mail fills a cached render. */
  when: string;
  /** "unknown" when there is none. */
  ip: string;
  browser: string;
  forgotPasswordUrl: string;
  /** One-time "This wasn't me" link: signs out everywhere and locks the password. */
  reportUrl: string;
}

export const newDeviceSignInSubject = "New sign-in to your Rekey account";

export default function NewDeviceSignInEmail({ when, ip, browser, forgotPasswordUrl, reportUrl }: NewDeviceSignInEmailProps) {
  return (
    <EmailLayout preview="Your account was signed in to from a device it had not seen before.">
      <Text style={textStyle}>Your Rekey account was signed in to from a browser or device that had never signed in to it before.</Text>
      <WhenAndWhere when={when} ip={ip} browser={browser} />
      <WasntMeFooter lead="If it wasn't you, someone knows your password." reportUrl={reportUrl} forgotPasswordUrl={forgotPasswordUrl} />
    </EmailLayout>
  );
}

NewDeviceSignInEmail.PreviewProps = {
  when: formatEmailTime(new Date("2026-12-06T10:05:00Z")),
  ip: "203.0.113.7",
  browser: "Chrome 156 on Linux",
  forgotPasswordUrl: "http://localhost:3000/forgot-password",
  reportUrl: "http://localhost:3000/wasnt-me/preview-token",
} satisfies NewDeviceSignInEmailProps;
