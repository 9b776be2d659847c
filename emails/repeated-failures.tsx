import { Link, Text } from "@react-email/components";
import { EmailLayout, formatEmailTime, textStyle } from "./layout";

export type RepeatedFailure = "passwords" | "codes";

export interface RepeatedFailuresEmailProps {
  /** What happened and what it means (repeatedFailuresSummary): every prop is text, so lib/mail fills a cached render. */
  summary: string;
  forgotPasswordUrl: string;
  twoFactorUrl: string;
}

export function repeatedFailuresSubject(what: RepeatedFailure): string {
  return what === "passwords" ? "Repeated failed sign-ins to your Rekey account" : "Repeated wrong two-factor codes on your Rekey account";
}

/** The email's first paragraph: wrong passwords at sign-in, or wrong codes after a right password. */
export function repeatedFailuresSummary(what: RepeatedFailure, when: string): string {
  return what === "passwords"
    ? `Someone has tried many wrong passwords for your Rekey account (the latest at ${when}). Sign-in to it is now slowed for browsers that have never signed in to it; browsers you signed in with before can still sign in.`
    : `Someone entered the right password for your Rekey account and then many wrong two-factor codes (the latest at ${when}). They know your password: change it now.`;
}

export default function RepeatedFailuresEmail({ summary, forgotPasswordUrl, twoFactorUrl }: RepeatedFailuresEmailProps) {
  return (
    <EmailLayout preview={summary}>
      <Text style={textStyle}>{summary}</Text>
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
  summary: repeatedFailuresSummary("passwords", formatEmailTime(new Date("2026-12-06T10:05:00Z"))),
  forgotPasswordUrl: "http://localhost:3000/forgot-password",
  twoFactorUrl: "http://localhost:3000/account/two-factor",
} satisfies RepeatedFailuresEmailProps;
