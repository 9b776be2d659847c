import { afterEach, expect, it } from "vitest";
import { overrideEnvForTests } from "@/lib/env";
import { describeEachDatabase } from "@/test-support/databases";
import { GET } from "./route";

const SECRET = "cron-secret-for-tests-0123456789";
const call = (authorization?: string) =>
  GET(new Request("http://rekey.test/api/cron/cleanup", { headers: authorization ? { authorization } : {} }));

afterEach(() => {
  overrideEnvForTests({});
});

describeEachDatabase("GET /api/cron/cleanup", () => {
  it("does not exist while CRON_SECRET is unset", async () => {
    overrideEnvForTests({ CRON_SECRET: undefined });
    expect((await call(`Bearer ${SECRET}`)).status).toBe(404);
  });

  it("refuses a missing or wrong secret", async () => {
    overrideEnvForTests({ CRON_SECRET: SECRET });
    expect((await call()).status).toBe(401);
    expect((await call(`Bearer ${SECRET}x`)).status).toBe(401);
    expect((await call(SECRET)).status).toBe(401);
  });

  it("cleans up with the right secret and says how much it deleted", async () => {
    overrideEnvForTests({ CRON_SECRET: SECRET });
    const response = await call(`Bearer ${SECRET}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { deleted: Record<string, number> };
    expect(Object.keys(body.deleted).sort()).toEqual([
      "accountDeletionCancelTokens",
      "auditDailyCounts",
      "auditEvents",
      "deviceAuthorizations",
      "emailVerificationTokens",
      "erasedAccounts",
      "finishedJobs",
      "passwordChangeReportTokens",
      "passwordResetTokens",
      "rateLimitBuckets",
      "sessions",
      "signInChallenges",
      "webauthnChallenges",
    ]);
  });
});
