import { Button, Link, Text } from "@react-email/components";
import { EmailLayout, buttonStyle, formatEmailTime, textStyle } from "./layout";

export interface ResetPasswordEmailProps {
  resetUrl: string;
  expiresInMinutes: number;
  /** Already formatted (formatEmailTime): every prop is text, so lib/mail fills a cached render. */
  requestedAt: string;
  /** "unknown" when there is none. */
  requestIp: string;
  forgotPasswordUrl: string;
}

export const resetPasswordSubject = "Reset your Rekey password";

export default function ResetPasswordEmail({
  resetUrl,
  expiresInMinutes,
  requestedAt,
  requestIp,
  forgotPasswordUrl,
}: ResetPasswordEmailProps) {
  return (
    <EmailLayout preview="Use this link to choose a new password.">
      <Text style={textStyle}>Someone asked to reset the password of the Rekey account for this email address.</Text>
      <Text style={textStyle}>To choose a new password, open this link within {expiresInMinutes} minutes:</Text>
      <Button href={resetUrl} style={buttonStyle}>
        Reset password
      </Button>
      <Text style={textStyle}>
        Or copy this address into your browser: <Link href={resetUrl}>{resetUrl}</Link>
      </Text>
      <Text style={textStyle}>
        The request was made on {requestedAt} from IP address {requestIp}. The link works once. If it has expired, ask for a new one:{" "}
        <Link href={forgotPasswordUrl}>{forgotPasswordUrl}</Link>
      </Text>
      <Text style={textStyle}>
        If this wasn&apos;t you, ignore this email: your password stays as it is and nobody can change it without this link.
      </Text>
    </EmailLayout>
  );
}

ResetPasswordEmail.PreviewProps = {
  resetUrl: "http://localhost:3000/reset-password/preview-token",
  expiresInMinutes: 60,
  requestedAt: formatEmailTime(new Date("2026-11-21T10:00:00Z")),
  requestIp: "203.0.113.7",
  forgotPasswordUrl: "http://localhost:3000/forgot-password",
} satisfies ResetPasswordEmailProps;
