import { Button, Link, Text } from "@react-email/components";
import { EmailLayout, buttonStyle, textStyle } from "./layout";

export interface VerifyEmailProps {
  verifyUrl: string;
  expiresInHours: number;
}

export const verifyEmailSubject = "Confirm your email address for Rekey";

export default function VerifyEmail({ verifyUrl, expiresInHours }: VerifyEmailProps) {
  return (
    <EmailLayout preview="Confirm your email address to finish creating your account.">
      <Text style={textStyle}>Welcome to Rekey. Confirm that this email address is yours to finish creating your account:</Text>
      <Button href={verifyUrl} style={buttonStyle}>
        Confirm email address
      </Button>
      <Text style={textStyle}>
        Or copy this address into your browser: <Link href={verifyUrl}>{verifyUrl}</Link>
      </Text>
      <Text style={textStyle}>
        The link works once, for {expiresInHours} hours, together with the password chosen when the account was created.
      </Text>
      <Text style={textStyle}>
        If you did not create a Rekey account, ignore this email: nobody can use an account with this address until its owner confirms it.
        To have one yourself, register again or reset the password; either replaces what someone else chose.
      </Text>
    </EmailLayout>
  );
}

VerifyEmail.PreviewProps = {
  verifyUrl: "http://localhost:3000/verify-email/preview-token",
  expiresInHours: 24,
} satisfies VerifyEmailProps;
