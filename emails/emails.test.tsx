import { render } from "@react-email/render";
import { describe, expect, it } from "vitest";
import { formatEmailTime } from "./layout";
import PasswordChangedEmail from "./password-changed";
import ResetPasswordEmail from "./reset-password";

const RESET_URL = "http://rekey.test/reset-password/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCdE";
const FORGOT_URL = "http://rekey.test/forgot-password";

describe("ResetPasswordEmail", () => {
  const email = (
    <ResetPasswordEmail
      resetUrl={RESET_URL}
      expiresInMinutes={45}
      requestedAt={formatEmailTime(new Date("2026-11-21T10:00:00Z"))}
      requestIp="203.0.113.7"
      forgotPasswordUrl={FORGOT_URL}
    />
  );

  it("says in plain text where to go, for how long, from which IP, and that it can be ignored", async () => {
    const text = await render(email, { plainText: true });

    expect(text).toContain(RESET_URL);
    expect(text).toContain("within 45 minutes");
    expect(text).toContain("203.0.113.7");
    expect(text).toContain("21 Nov 2026, 10:00 UTC");
    expect(text).toMatch(/ignore this email/i);
    expect(text).toContain(FORGOT_URL);
    expect(text).not.toMatch(/<[a-z]/i);
  });

  it("links the reset page in HTML", async () => {
    const html = await render(email);

    expect(html).toMatch(new RegExp(`<a [^>]*href="${RESET_URL}"`));
    expect(html).toContain(`href="${FORGOT_URL}"`);
  });

  it("says 'unknown' when the requester's IP is not known", async () => {
    const text = await render(
      <ResetPasswordEmail
        resetUrl={RESET_URL}
        expiresInMinutes={60}
        requestedAt={formatEmailTime(new Date())}
        requestIp="unknown"
        forgotPasswordUrl={FORGOT_URL}
      />,
      { plainText: true },
    );

    expect(text).toContain("from IP address unknown");
  });
});

const REPORT_URL = "http://rekey.test/wasnt-me/report-token";

describe("PasswordChangedEmail", () => {
  const email = (
    <PasswordChangedEmail
      changedAt={formatEmailTime(new Date("2026-11-21T10:05:00Z"))}
      ip="198.51.100.23"
      browser="Chrome 126 on Windows 10"
      forgotPasswordUrl={FORGOT_URL}
      reportUrl={REPORT_URL}
    />
  );

  it("says in plain text when, from which IP and browser, and where to go if it wasn't you", async () => {
    const text = await render(email, { plainText: true });

    expect(text).toContain("21 Nov 2026, 10:05 UTC");
    expect(text).toContain("198.51.100.23");
    expect(text).toContain("Chrome 126 on Windows 10");
    expect(text).toContain("signed out");
    expect(text).toContain(FORGOT_URL);
    expect(text).not.toContain("/reset-password/");
    expect(text).toContain("This wasn't me");
    expect(text).toContain(REPORT_URL);
  });

  it("links the forgot-password page in HTML", async () => {
    const html = await render(email);

    expect(html).toMatch(new RegExp(`<a [^>]*href="${FORGOT_URL}"`));
    expect(html).toMatch(new RegExp(`<a [^>]*href="${REPORT_URL}"`));
  });

  it("lists the account's passkeys with the page that removes them all, and says nothing of passkeys without any", async () => {
    const withPasskeys = await render(
      <PasswordChangedEmail
        changedAt="21 Nov 2026, 10:05 UTC"
        ip="198.51.100.23"
        browser="Chrome 126 on Windows 10"
        forgotPasswordUrl={FORGOT_URL}
        reportUrl={REPORT_URL}
        passkeys="“Laptop”, “Phone”"
        sessionsUrl="http://rekey.test/account/sessions"
      />,
      { plainText: true },
    );
    expect(withPasskeys).toContain("these passkeys, which sign in without the password: “Laptop”, “Phone”");
    expect(withPasskeys).toContain("http://rekey.test/account/sessions");
    expect(await render(email, { plainText: true })).not.toContain("passkey");
  });
});
