import { postWithForgedHost } from "../support/forms";
import { expect, test, uniqueEmail, unknownAddressesDecided } from "../support/fixtures";
import { E2E } from "../support/settings";
import { FORGOT_ANSWER, PATHS, call } from "./support/api";

test.describe("forgot-password through the API tells nothing about accounts", () => {
  test("a known and an unknown address get the same status and byte-identical bodies, and only the known one gets an email", async ({
    request,
    createUser,
    mailbox,
    db,
    ip,
  }) => {
    const user = await createUser();
    const stranger = uniqueEmail("nobody");

    const known = await call(request, PATHS.forgot, { json: { email: user.email } });
    const unknown = await call(request, PATHS.forgot, { json: { email: stranger } });

    expect(known.status).toBe(202);
    expect(unknown.status).toBe(known.status);
    expect(unknown.bytes.equals(known.bytes)).toBe(true);
    expect(known.body).toEqual({ message: FORGOT_ANSWER });
    // The headers too, but for the date.
    const comparable = (headers: Record<string, string>) =>
      Object.entries(headers)
        .filter(([name]) => name !== "date")
        .sort();
    expect(comparable(unknown.headers)).toEqual(comparable(known.headers));

    await mailbox.resetLink(user.email);
    await unknownAddressesDecided(db, ip);
    expect(await mailbox.messages(stranger)).toEqual([]);
  });

  test("a forged Host and X-Forwarded-Host still get a link to APP_URL", async ({ createUser, mailbox, ip }) => {
    const user = await createUser();
    const body = JSON.stringify({ email: user.email });
    const response = await postWithForgedHost({ path: PATHS.forgot, ip, contentType: "application/json", body });
    expect(response.status).toBe(202);
    expect(JSON.parse(response.body)).toEqual({ message: FORGOT_ANSWER });

    const link = await mailbox.resetLink(user.email);
    expect(new URL(link).origin).toBe(E2E.appUrl);
    const message = await mailbox.waitFor(user.email, /reset your rekey password/i);
    expect(message.html).not.toContain("evil.example");
    expect(message.text).not.toContain("evil.example");
  });
});
