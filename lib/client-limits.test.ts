// Every per-IP limit counts clients by the one rule in clientKey: an IPv6 client by its /64,
// and every request without a usable IP in one shared bucket. Proven here for each limiter.
import { afterEach, describe, expect, it } from "vitest";
import type { Database } from "@/db/client";
import { describeEachDatabase } from "@/test-support/databases";
import { collectingSchedule } from "@/test-support/reset-helpers";
import { uniqueEmail } from "@/test-support/users";
import { attemptSignIn } from "./auth/sign-in-throttle";
import { overrideEnvForTests } from "./env";
import { requestPasswordReset } from "./recovery/request";
import { REGISTER_IP_LIMIT, requestRegistration } from "./accounts/register";

afterEach(() => {
  overrideEnvForTests({});
});

interface Limiter {
  name: string;
  /** Sets the per-IP limit where it is configurable and returns it. */
  configure(): number;
  /** One request from `ip`; true when the limit let it through. */
  attempt(db: Database, ip: string | null): Promise<boolean>;
}

const LIMITERS: Limiter[] = [
  {
    name: "password reset requests",
    configure: () => {
      overrideEnvForTests({ RESET_REQUESTS_PER_IP_PER_HOUR: "3" });
      return 3;
    },
    attempt: async (db, ip) =>
      (await requestPasswordReset(db, { email: uniqueEmail(), ip, userAgent: null }, collectingSchedule().schedule)).ok,
  },
  {
    name: "registrations",
    configure: () => REGISTER_IP_LIMIT.max,
    attempt: async (db, ip) =>
      (
        await requestRegistration(
          db,
          { email: uniqueEmail(), password: "Tangerine-Quokka-42", ip, userAgent: null },
          collectingSchedule().schedule,
        )
      ).ok,
  },
  {
    name: "failed sign-ins",
    configure: () => {
      overrideEnvForTests({ SIGN_IN_FAILURES_PER_IP_PER_HOUR: "3" });
      return 3;
    },
    // Unknown addresses fail like wrong passwords; only the refusal says the limit was hit.
    attempt: async (db, ip) => {
      const result = await attemptSignIn(db, { email: uniqueEmail(), password: "Wrong-Password-1", ip, userAgent: null });
      return result.ok || result.code !== "RATE_LIMITED";
    },
  },
];

let prefixCounter = 0;
/** A /64 not used before in this file. */
function freshPrefix(): string {
  prefixCounter += 1;
  return `2001:db8:${(process.pid % 65_536).toString(16)}:${prefixCounter.toString(16)}`;
}

describeEachDatabase("per-IP limits", ({ handle }) => {
  const db = () => handle().db;

  for (const limiter of LIMITERS) {
    describe(limiter.name, () => {
      it("counts every address of one IPv6 /64 together, and another /64 apart", async () => {
        const max = limiter.configure();
        const prefix = freshPrefix();
        for (let i = 1; i <= max; i++) expect(await limiter.attempt(db(), `${prefix}:${i.toString(16)}:0:0:${i.toString(16)}`)).toBe(true);
        expect(await limiter.attempt(db(), `${prefix}:ffff:ffff:ffff:ffff`)).toBe(false);
        expect(await limiter.attempt(db(), `${freshPrefix()}::1`)).toBe(true);
      });

      it("counts every request without a client IP in one shared bucket, refused past the limit", async () => {
        const max = limiter.configure();
        for (let i = 0; i < max; i++) expect(await limiter.attempt(db(), null)).toBe(true);
        expect(await limiter.attempt(db(), null)).toBe(false);
        expect(await limiter.attempt(db(), "203.0.113.77")).toBe(true);
      });
    });
  }
});
