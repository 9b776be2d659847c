// Races of the device flow: an approved code polled by many requests at once, and user-code
// guesses sent in parallel. They prove something on PostgreSQL only (PGlite runs one query at a
// time and cannot show a race): run with TEST_DATABASE_URL. A select-then-update version of the
// issuing step hands out several tokens here.
import { and, eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { sessions } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { collectingSchedule, uniqueIp } from "@/test-support/reset-helpers";
import { insertSession } from "@/test-support/sessions";
import { createUser } from "@/test-support/users";
import { DEVICE_USER_CODE_ACCOUNT_LIMIT, decideDeviceRequest, findDeviceRequest, reviewReference } from "./approval";
import { pollDeviceToken, requestDeviceAuthorization } from "./flow";

describeEachDatabase("device flow races", ({ handle }) => {
  const db = () => handle().db;

  it("one approved code polled 20 times at once yields exactly one token and one session", async () => {
    for (let round = 0; round < 5; round++) {
      const request = await requestDeviceAuthorization(db(), { clientName: "race-cli", ip: uniqueIp(), userAgent: "race" });
      if (!request.ok) throw new Error("rate limited");
      const user = await createUser(db());
      const session = await insertSession(db(), { userId: user.id, userAgent: "browser", ip: uniqueIp() });
      const found = await findDeviceRequest(db(), { userId: user.id, userCode: request.userCode, ip: uniqueIp(), userAgent: null });
      if (!found.ok) throw new Error(found.code);
      const decided = await decideDeviceRequest(db(), {
        reference: reviewReference(found.request.id, session.id),
        decision: "approve",
        userId: user.id,
        sessionId: session.id,
        ip: uniqueIp(),
        userAgent: null,
      });
      expect(decided).toEqual({ ok: true });

      const { schedule } = collectingSchedule();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          pollDeviceToken(db(), { deviceCode: request.deviceCode, ip: uniqueIp(), userAgent: "race" }, schedule),
        ),
      );
      expect(answers.filter((a) => a.ok)).toHaveLength(1);
      expect(answers.filter((a) => !a.ok).map((a) => (a.ok ? null : a.error))).toEqual(Array(19).fill("invalid_grant"));
      const stored = await db()
        .select()
        .from(sessions)
        .where(and(eq(sessions.userId, user.id), eq(sessions.kind, "device")));
      expect(stored).toHaveLength(1);
    }
  });

  it(`${3 * DEVICE_USER_CODE_ACCOUNT_LIMIT.max} parallel tries at user codes from one account: exactly ${DEVICE_USER_CODE_ACCOUNT_LIMIT.max} are looked up`, async () => {
    const user = await createUser(db());
    const answers = await Promise.all(
      Array.from({ length: 3 * DEVICE_USER_CODE_ACCOUNT_LIMIT.max }, () =>
        findDeviceRequest(db(), { userId: user.id, userCode: "BBBB-BBBB", ip: uniqueIp(), userAgent: null }),
      ),
    );
    expect(answers.filter((a) => !a.ok && a.code === "NOT_FOUND")).toHaveLength(DEVICE_USER_CODE_ACCOUNT_LIMIT.max);
    expect(answers.filter((a) => !a.ok && a.code === "RATE_LIMITED")).toHaveLength(2 * DEVICE_USER_CODE_ACCOUNT_LIMIT.max);
  });
});
