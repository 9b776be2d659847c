// Two-factor authentication as a person sets it up: read the "Setup key" the page shows, type
// codes computed from it (as an authenticator app would), keep the recovery codes.
import { expect, type Page } from "@playwright/test";
import * as OTPAuth from "otpauth";

const PERIOD_MS = 30_000;

/**
 * An authenticator app for one setup key. Each code() belongs to a later time step than the
 * one before (the app refuses a step it already accepted), waiting for the clock when the next
 * step is not yet within the server's one-step drift window.
 */
export class Authenticator {
  private readonly totp: OTPAuth.TOTP;
  private lastStep = -Infinity;

  constructor(setupKey: string) {
    this.totp = new OTPAuth.TOTP({ algorithm: "SHA1", digits: 6, period: 30, secret: OTPAuth.Secret.fromBase32(setupKey.replace(/\s+/g, "")) });
  }

  /** A code for a step no earlier than now - 1 and later than every code given before. */
  async code(): Promise<string> {
    for (;;) {
      const now = Math.floor(Date.now() / PERIOD_MS);
      // now + 1 is accepted too, but only while the clock stays in this step: keep a margin.
      const margin = Date.now() % PERIOD_MS < PERIOD_MS - 3_000 ? 1 : 0;
      const step = Math.max(this.lastStep + 1, now);
      if (step <= now + margin) {
        this.lastStep = step;
        return this.totp.generate({ timestamp: step * PERIOD_MS });
      }
      await new Promise((resolve) => setTimeout(resolve, Date.now() % PERIOD_MS === 0 ? 50 : PERIOD_MS - (Date.now() % PERIOD_MS) + 50));
    }
  }

  /** A code the server must refuse: right digits for a step far outside the drift window. */
  staleCode(): string {
    return this.totp.generate({ timestamp: Date.now() - 10 * PERIOD_MS });
  }
}

/**
 * Turns two-factor authentication on for the signed-in user of `page` through
 * /account/two-factor; returns the setup key, the ten recovery codes, and an authenticator
 * that already used one code (the confirmation).
 */
export async function enableTwoFactor(page: Page): Promise<{ setupKey: string; recoveryCodes: string[]; authenticator: Authenticator }> {
  await page.goto("/account/two-factor");
  const setupKey = (await page.getByTestId("setup-key").innerText()).trim();
  expect(setupKey).toMatch(/^[A-Z2-7 ]{32,}$/);
  const authenticator = new Authenticator(setupKey);
  await page.getByLabel("Authentication code").fill(await authenticator.code());
  await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
  const list = page.getByTestId("recovery-codes");
  await expect(list.getByRole("listitem")).toHaveCount(10);
  const recoveryCodes = (await list.getByRole("listitem").allInnerTexts()).map((c) => c.trim());
  return { setupKey, recoveryCodes, authenticator };
}
