import { Link, Text } from "@react-email/components";
import { EmailLayout, formatEmailTime, textStyle } from "./layout";

export interface RegistrationAttemptEmailProps {
  /** Already formatted (formatEmailTime): every prop is text, so lib/mail fills a cached render. */
  attemptedAt: string;
  /** "unknown" when there is none. */
  ip: string;
  signInUrl: string;
  forgotPasswordUrl: string;
}

export const registrationAttemptSubject = "Someone tried to create a Rekey account with your email";

// Sent instead of a verification email when the address already has an account: the owner
// learns of the attempt, and the person registering learns nothing on the page.
export default function RegistrationAttemptEmail({ attemptedAt, ip, signInUrl, forgotPasswordUrl }: RegistrationAttemptEmailProps) {
  return (
    <EmailLayout preview="Your address already has a Rekey account.">
      <Text style={textStyle}>
        Someone tried to create a new Rekey account with this email address on {attemptedAt} from IP address {ip}. This address already has
        an account, so nothing was changed.
      </Text>
      <Text style={textStyle}>
        If it was you, sign in instead: <Link href={signInUrl}>{signInUrl}</Link>
      </Text>
      <Text style={textStyle}>
        Forgot your password? Reset it here: <Link href={forgotPasswordUrl}>{forgotPasswordUrl}</Link>
      </Text>
      <Text style={textStyle}>If it wasn&apos;t you, you can ignore this email. Your account is unchanged.</Text>
    </EmailLayout>
  );
}

RegistrationAttemptEmail.PreviewProps = {
  attemptedAt: formatEmailTime(new Date("2026-11-21T10:00:00Z")),
  ip: "203.0.113.7",
  signInUrl: "http://localhost:3000/login",
  forgotPasswordUrl: "http://localhost:3000/forgot-password",
} satisfies RegistrationAttemptEmailProps;
