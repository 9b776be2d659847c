import { Link, Text } from "@react-email/components";
import { EmailLayout, formatEmailTime, textStyle } from "./layout";

export interface EmailChangeAttemptEmailProps {
  attemptedAt: string;
  forgotPasswordUrl: string;
}

export const emailChangeAttemptSubject = "Someone tried to use your email address on Rekey";

export default function EmailChangeAttemptEmail({ attemptedAt, forgotPasswordUrl }: EmailChangeAttemptEmailProps) {
  return (
    <EmailLayout preview="Another Rekey account asked to use your address.">
      <Text style={textStyle}>
        On {attemptedAt}, someone asked to move another Rekey account to this email address. This address already belongs to your account,
        so nothing changed: your account and its address are as they were.
      </Text>
      <Text style={textStyle}>
        If you have two accounts, that was probably you. Otherwise there is nothing to do. If you are worried, you can reset your password:{" "}
        <Link href={forgotPasswordUrl}>{forgotPasswordUrl}</Link>
      </Text>
    </EmailLayout>
  );
}

EmailChangeAttemptEmail.PreviewProps = {
  attemptedAt: formatEmailTime(new Date("2026-11-21T10:05:00Z")),
  forgotPasswordUrl: "http://localhost:3000/forgot-password",
} satisfies EmailChangeAttemptEmailProps;
