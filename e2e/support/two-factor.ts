// Two-factor authentication as a person sets it up: read the "Setup key" the page shows, type
// codes computed from it (as an authenticator app would), keep the recovery codes.
import { expect, type Page } from "@playwright/test";
import * as OTPAuth from "otpauth";

const PERIOD_MS = 30_000;
/** How long a code may wait between code() and the server's check. */
const HOLD_MS = 15_000;

/**
 * An authenticator app for one setup key. Each code() belongs to a later time step than the
 * one before (the app refuses a step it already accepted). The server accepts one step either
 * side of its own, so up to three codes are at hand at once (the previous step, this one and
 * the next); a later one waits for the clock to reach the next step.
 */
export class Authenticator {
  private readonly totp: OTPAuth.TOTP;
  private lastStep = -Infinity;

  constructor(setupKey: string) {
    this.totp = new OTPAuth.TOTP({
      algorithm: "SHA1",
      digits: 6,
      period: 30,
      secret: OTPAuth.Secret.fromBase32(setupKey.replace(/\s+/g, "")),
    });
  }

  /** A code for a step within the server's window now, later than every code given before. */
  async code(): Promise<string> {
    for (;;) {
      const now = Math.floor(Date.now() / PERIOD_MS);
      // The previous step stays accepted only until this one ends: only while more than
      // HOLD_MS of it are left, so that a code a test keeps a moment before typing it still
      // works. This step and the next stay accepted for at least another whole step.
      const earliest = PERIOD_MS - (Date.now() % PERIOD_MS) > HOLD_MS ? now - 1 : now;
      const step = Math.max(this.lastStep + 1, earliest);
      if (step <= now + 1) {
        this.lastStep = step;
        return this.totp.generate({ timestamp: step * PERIOD_MS });
      }
      // Until the clock reaches the step before it (then it is "the next step").
      await new Promise((resolve) => setTimeout(resolve, (step - 1) * PERIOD_MS - Date.now() + 50));
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
