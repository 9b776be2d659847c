import { Body, Button, Container, Head, Hr, Html, Link, Preview, Section, Text } from "@react-email/components";
import type { ReactNode } from "react";

const styles = {
  body: { backgroundColor: "#f4f4f5", fontFamily: "-apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif", margin: 0 },
  container: { backgroundColor: "#ffffff", margin: "32px auto", padding: "32px", maxWidth: "520px", borderRadius: "8px" },
  brand: { fontSize: "20px", fontWeight: 700, color: "#18181b", margin: "0 0 24px" },
  footer: { fontSize: "12px", color: "#71717a", lineHeight: "18px" },
};

export const textStyle = { fontSize: "15px", lineHeight: "24px", color: "#27272a" };
export const buttonStyle = {
  backgroundColor: "#1d4ed8",
  color: "#ffffff",
  padding: "12px 20px",
  borderRadius: "6px",
  fontSize: "15px",
  fontWeight: 600,
  textDecoration: "none",
  display: "inline-block",
};

/** Frame shared by every Rekey email: brand, content, a footer saying why it was sent. */
export function EmailLayout({ preview, children }: { preview: string; children: ReactNode }) {
  return (
    <Html lang="en">
      <Head />
      <Preview>{preview}</Preview>
      <Body style={styles.body}>
        <Container style={styles.container}>
          <Text style={styles.brand}>Rekey</Text>
          <Section>{children}</Section>
          <Hr />
          <Text style={styles.footer}>
            You received this email because of activity on your Rekey account. We will never ask you for your password by email.
          </Text>
        </Container>
      </Body>
    </Html>
  );
}

// Built once: toLocaleString builds a new formatter on every call (~0.3 ms each).
const EMAIL_TIME = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });

/** "21 Nov 2026, 14:05 UTC": unambiguous in every reader's locale. */
export function formatEmailTime(date: Date): string {
  return `${EMAIL_TIME.format(date)} UTC`;
}

/**
 * The end of every email that reports a change the owner may not have made: the one-time
 * "This wasn't me" button (signs out everywhere, locks the password, sends a fresh reset link),
 * the same link as text, and the forgot-password page. `lead` says why someone might use it.
 */
export function WasntMeFooter({ lead, reportUrl, forgotPasswordUrl }: { lead: ReactNode; reportUrl: string; forgotPasswordUrl: string }) {
  return (
    <>
      <Text style={textStyle}>If this was you, there is nothing to do.</Text>
      <Text style={textStyle}>{lead} Use this link to sign out every device, lock the password and get a fresh reset link:</Text>
      <Button href={reportUrl} style={buttonStyle}>
        This wasn&apos;t me
      </Button>
      <Text style={textStyle}>
        Or copy this address into your browser: <Link href={reportUrl}>{reportUrl}</Link>
      </Text>
      <Text style={textStyle}>
        You can also reset your password at any time: <Link href={forgotPasswordUrl}>{forgotPasswordUrl}</Link>
      </Text>
    </>
  );
}

/** Where and when something happened to the account, as every notice to the owner gives it. */
export function WhenAndWhere({ when, ip, browser }: { when: string; ip: string; browser: string }) {
  return (
    <Text style={textStyle}>
      When: {when}
      <br />
      IP address: {ip}
      <br />
      Browser: {browser}
    </Text>
  );
}
