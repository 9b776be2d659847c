import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { users } from "@/db/schema";
import { describeEachDatabase } from "@/test-support/databases";
import { installTestOutbox } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, collectingSchedule, uniqueIp } from "@/test-support/reset-helpers";
import { createUser } from "@/test-support/users";
import { enrol } from "@/test-support/two-factor";
import { passSignInChallenge, startSignInChallenge } from "./sign-in-step";
import { totpCode } from "./totp";

const outbox = installTestOutbox();

const context = () => ({ ip: uniqueIp(), userAgent: CHROME_ON_WINDOWS });

describeEachDatabase("the second step of a sign-in", ({ handle }) => {
  const db = () => handle().db;

  it("passes a sign-in challenge once with a right code; a recovery code is reported by email with the count left", async () => {
    const user = await createUser(db());
    const { key, codes } = await enrol(db(), user);
    const [row] = await db().select({ v: users.credentialsVersion }).from(users).where(eq(users.id, user.id));
    const challenge = await startSignInChallenge(db(), { userId: user.id, credentialsVersion: row!.v, ...context() });

    expect(await passSignInChallenge(db(), { token: challenge.token, otp: "000000", ...context() }, () => {})).toEqual({
      ok: false,
      code: "INVALID_CODE",
    });
    const scheduled = collectingSchedule();
    const passed = await passSignInChallenge(db(), { token: challenge.token, recoveryCode: codes[3]!, ...context() }, scheduled.schedule);
    expect(passed).toMatchObject({
      ok: true,
      method: "recovery_code",
      grant: { userId: user.id, credentialsVersion: row!.v, secondFactor: true },
    });
    expect(await passSignInChallenge(db(), { token: challenge.token, otp: totpCode(key), ...context() }, () => {})).toEqual({
      ok: false,
      code: "CHALLENGE_EXPIRED",
    });
    await scheduled.runAll();
    expect(await outbox.to(user.email, "A recovery code was used (9 left)")).toHaveLength(1);
  });
});
