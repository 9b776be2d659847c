import { Link, Text } from "@react-email/components";
import { EmailLayout, formatEmailTime, textStyle } from "./layout";

export interface RepeatedFailuresEmailProps {
  /** "passwords": wrong passwords at sign-in; "codes": wrong two-factor codes after a right password. */
  what: "passwords" | "codes";
  /** Already formatted (formatEmailTime). */
  when: string;
  forgotPasswordUrl: string;
  twoFactorUrl: string;
}

export function repeatedFailuresSubject(what: RepeatedFailuresEmailProps["what"]): string {
  return what === "passwords" ? "Repeated failed sign-ins to your Rekey account" : "Repeated wrong two-factor codes on your Rekey account";
}

export default function RepeatedFailuresEmail({ what, when, forgotPasswordUrl, twoFactorUrl }: RepeatedFailuresEmailProps) {
  return (
    <EmailLayout preview={repeatedFailuresSubject(what)}>
      {what === "passwords" ? (
        <Text style={textStyle}>
          Someone has tried many wrong passwords for your Rekey account (the latest at {when}). Sign-in to it is now slowed for browsers
          that have never signed in to it; browsers you signed in with before can still sign in.
        </Text>
      ) : (
        <Text style={textStyle}>
          Someone entered the right password for your Rekey account and then many wrong two-factor codes (the latest at {when}). They know
          your password: change it now.
        </Text>
      )}
      <Text style={textStyle}>If this was you, there is nothing to do.</Text>
      <Text style={textStyle}>
        Reset your password: <Link href={forgotPasswordUrl}>{forgotPasswordUrl}</Link>
      </Text>
      <Text style={textStyle}>
        Your two-factor settings: <Link href={twoFactorUrl}>{twoFactorUrl}</Link>
      </Text>
    </EmailLayout>
  );
}

RepeatedFailuresEmail.PreviewProps = {
  what: "passwords",
  when: formatEmailTime(new Date("2026-12-06T10:05:00Z")),
  forgotPasswordUrl: "http://localhost:3000/forgot-password",
  twoFactorUrl: "http://localhost:3000/account/two-factor",
} satisfies RepeatedFailuresEmailProps;
