import { Button, Link, Text } from "@react-email/components";
import { EmailLayout, buttonStyle, textStyle } from "./layout";

export interface EmailChangeConfirmEmailProps {
  confirmUrl: string;
  expiresInMinutes: number;
}

export const emailChangeConfirmSubject = "Confirm your new Rekey email address";

export default function EmailChangeConfirmEmail({ confirmUrl, expiresInMinutes }: EmailChangeConfirmEmailProps) {
  return (
    <EmailLayout preview="Confirm this address for your Rekey account.">
      <Text style={textStyle}>Someone asked to use this address for their Rekey account.</Text>
      <Text style={textStyle}>
        If it was you, open the link and enter the account&apos;s password to confirm. Until then, nothing changes: the account keeps its
        current address. The link works once, for {expiresInMinutes} minutes.
      </Text>
      <Button href={confirmUrl} style={buttonStyle}>
        Confirm new email address
      </Button>
      <Text style={textStyle}>
        Or copy this address into your browser: <Link href={confirmUrl}>{confirmUrl}</Link>
      </Text>
      <Text style={textStyle}>If it was not you, ignore this email: without the account&apos;s password the link does nothing.</Text>
    </EmailLayout>
  );
}

EmailChangeConfirmEmail.PreviewProps = {
  confirmUrl: "http://localhost:3000/email-change/preview-token",
  expiresInMinutes: 60,
} satisfies EmailChangeConfirmEmailProps;
