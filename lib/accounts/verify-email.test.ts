import { and, eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "@/db/client";
import { auditEvents, emailVerificationTokens, users } from "@/db/schema";
import { verifyEmailSubject } from "@/emails/verify-email";
import { describeEachDatabase } from "@/test-support/databases";
import { VERIFY_LINK, fullLinkIn, installTestOutbox, tokenIn } from "@/test-support/mail-helpers";
import { CHROME_ON_WINDOWS, collectingSchedule, dumpAllTables, uniqueIp } from "@/test-support/reset-helpers";
import { createUser, CURRENT_PASSWORD, uniqueEmail } from "@/test-support/users";
import { verifyCredentials } from "../auth/credentials";
import { attemptSignIn } from "../auth/sign-in-throttle";
import {
  RESEND_VERIFICATION_IP_LIMIT,
  RESEND_VERIFICATION_LIMIT,
  VERIFICATION_TTL_HOURS,
  inspectVerificationToken,
  requestVerificationEmail,
  sendVerificationEmail,
  verifyEmail,
} from "./verify-email";
import { env } from "../env";
import { hashToken } from "../tokens";

const outbox = installTestOutbox();
const NO_CONTEXT = { ip: null, userAgent: null };
const UNCONFIRMED = { confirmed: false };

async function emailVerifiedAt(db: Database, userId: string): Promise<Date | null> {
  const [row] = await db.select({ emailVerified: users.emailVerified }).from(users).where(eq(users.id, userId));
  if (!row) throw new Error(`no user ${userId}`);
  return row.emailVerified;
}

async function eventsOf(db: Database, userId: string, event: string) {
  return db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.userId, userId), eq(auditEvents.event, event)));
}

describeEachDatabase("email verification", ({ handle }) => {
  const db = () => handle().db;

  /** Sends a verification email to the user's current address and returns the token from its link. */
  async function sendToken(user: { id: string; email: string }): Promise<string> {
    const before = (await outbox.to(user.email, verifyEmailSubject)).map((m) => m.id);
    await sendVerificationEmail(db(), user, NO_CONTEXT);
    const fresh = (await outbox.to(user.email, verifyEmailSubject)).filter((m) => !before.includes(m.id));
    expect(fresh).toHaveLength(1);
    return tokenIn(fresh[0], VERIFY_LINK);
  }

  it("stores only the hash of the token, with the address it was sent to, and emails a link that works for 24 hours", async () => {
    const user = await createUser(db(), UNCONFIRMED);
    const ip = uniqueIp();
    const sentAfter = Date.now();

    await sendVerificationEmail(db(), user, { ip, userAgent: CHROME_ON_WINDOWS });

    const sentBefore = Date.now();
    const messages = await outbox.to(user.email);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.subject).toBe(verifyEmailSubject);
    const token = tokenIn(messages[0], VERIFY_LINK);
    expect(fullLinkIn(messages[0], VERIFY_LINK)).toBe(`${env().APP_URL}/verify-email/${token}`);
    expect(messages[0]?.text).toContain(`for ${VERIFICATION_TTL_HOURS} hours`);

    const rows = await db().select().from(emailVerificationTokens).where(eq(emailVerificationTokens.userId, user.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      tokenHash: hashToken(token),
      email: user.email,
      usedAt: null,
      requestIp: ip,
      requestUserAgent: CHROME_ON_WINDOWS,
    });
    const day = 24 * 60 * 60 * 1000;
    expect(rows[0]!.expiresAt.getTime()).toBeGreaterThanOrEqual(sentAfter + day);
    expect(rows[0]!.expiresAt.getTime()).toBeLessThanOrEqual(sentBefore + day);
    expect(await eventsOf(db(), user.id, "email_verification.sent")).toHaveLength(1);

    const dump = await dumpAllTables(db());
    expect(dump.email_verification_tokens).toContain(hashToken(token));
    for (const [table, tableRows] of Object.entries(dump)) {
      expect({ table, hasToken: tableRows.includes(token) }).toEqual({ table, hasToken: false });
    }
  });

  it("shows a valid link with the masked address as often as asked without consuming it", async () => {
    const user = await createUser(db(), UNCONFIRMED);
    const token = await sendToken(user);

    expect(await inspectVerificationToken(db(), token)).toEqual({ status: "valid", maskedEmail: "a***@example.com" });
    expect(await inspectVerificationToken(db(), token)).toEqual({ status: "valid", maskedEmail: "a***@example.com" });

    const [row] = await db()
      .select()
      .from(emailVerificationTokens)
      .where(eq(emailVerificationTokens.tokenHash, hashToken(token)));
    expect(row?.usedAt).toBeNull();
    expect(await emailVerifiedAt(db(), user.id)).toBeNull();
    expect(await verifyEmail(db(), { token, password: CURRENT_PASSWORD, ...NO_CONTEXT })).toEqual({ ok: true });
  });

  it("verifies the address with its link, audits it, and calls the link used afterwards", async () => {
    const user = await createUser(db(), UNCONFIRMED);
    const token = await sendToken(user);
    const ip = uniqueIp();
    expect(await emailVerifiedAt(db(), user.id)).toBeNull();

    expect(await verifyEmail(db(), { token, password: CURRENT_PASSWORD, ip, userAgent: CHROME_ON_WINDOWS })).toEqual({ ok: true });

    const verifiedAt = await emailVerifiedAt(db(), user.id);
    expect(verifiedAt).toBeInstanceOf(Date);
    const audited = await eventsOf(db(), user.id, "email.verified");
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({ ip, userAgent: CHROME_ON_WINDOWS });

    expect(await verifyEmail(db(), { token, password: CURRENT_PASSWORD, ...NO_CONTEXT })).toEqual({
      ok: false,
      code: "TOKEN_PROBLEM",
      problem: "used",
    });
    expect(await inspectVerificationToken(db(), token)).toEqual({ status: "used" });
    expect(await emailVerifiedAt(db(), user.id)).toEqual(verifiedAt);
    expect(await eventsOf(db(), user.id, "email.verified")).toHaveLength(1);
  });

  it("refuses an expired link and leaves the address unverified", async () => {
    const user = await createUser(db(), UNCONFIRMED);
    const token = await sendToken(user);
    await db()
      .update(emailVerificationTokens)
      .set({ expiresAt: sql`now() - interval '1 minute'` })
      .where(eq(emailVerificationTokens.tokenHash, hashToken(token)));

    expect(await inspectVerificationToken(db(), token)).toEqual({ status: "expired" });
    expect(await verifyEmail(db(), { token, password: CURRENT_PASSWORD, ...NO_CONTEXT })).toEqual({
      ok: false,
      code: "TOKEN_PROBLEM",
      problem: "expired",
    });
    expect(await emailVerifiedAt(db(), user.id)).toBeNull();
  });

  it("calls unknown and malformed tokens invalid", async () => {
    const user = await createUser(db(), UNCONFIRMED);
    await sendToken(user);

    for (const garbage of ["garbage", "", "A".repeat(43), `${"A".repeat(42)}=`, "x".repeat(5_000)]) {
      expect(await inspectVerificationToken(db(), garbage)).toEqual({ status: "invalid" });
      expect(await verifyEmail(db(), { token: garbage, password: CURRENT_PASSWORD, ...NO_CONTEXT })).toEqual({
        ok: false,
        code: "TOKEN_PROBLEM",
        problem: "invalid",
      });
    }
    expect(await emailVerifiedAt(db(), user.id)).toBeNull();
  });

  it("does not verify a changed address with a link sent to the old one, and calls that link invalid", async () => {
    const user = await createUser(db(), UNCONFIRMED);
    const oldToken = await sendToken(user);
    const newEmail = uniqueEmail();
    await db().update(users).set({ email: newEmail }).where(eq(users.id, user.id));

    // The page must not offer a "Confirm" button that is bound to fail.
    expect(await inspectVerificationToken(db(), oldToken)).toEqual({ status: "invalid" });
    const result = await verifyEmail(db(), { token: oldToken, password: CURRENT_PASSWORD, ...NO_CONTEXT });

    expect(await emailVerifiedAt(db(), user.id)).toBeNull();
    expect(await eventsOf(db(), user.id, "email.verified")).toEqual([]);
    expect(result.ok).toBe(false);
    // The link was never used: "used" would tell its reader "your address may already be confirmed".
    expect(result).toEqual({ ok: false, code: "TOKEN_PROBLEM", problem: "invalid" });
  });

  it("verifies a changed address with a link sent to the new one", async () => {
    const user = await createUser(db(), UNCONFIRMED);
    await sendToken(user);
    const moved = { id: user.id, email: uniqueEmail() };
    await db().update(users).set({ email: moved.email }).where(eq(users.id, user.id));

    const newToken = await sendToken(moved);

    expect(await verifyEmail(db(), { token: newToken, password: CURRENT_PASSWORD, ...NO_CONTEXT })).toEqual({ ok: true });
    expect(await emailVerifiedAt(db(), user.id)).toBeInstanceOf(Date);
  });

  it("lets exactly one of twenty concurrent uses of one link verify the address", async () => {
    const user = await createUser(db(), UNCONFIRMED);
    const token = await sendToken(user);

    const results = await Promise.all(
      Array.from({ length: 20 }, () => verifyEmail(db(), { token, password: CURRENT_PASSWORD, ip: uniqueIp(), userAgent: null })),
    );

    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toEqual(Array.from({ length: 19 }, () => ({ ok: false, code: "TOKEN_PROBLEM", problem: "used" })));
    expect(await eventsOf(db(), user.id, "email.verified")).toHaveLength(1);
    expect(await emailVerifiedAt(db(), user.id)).toBeInstanceOf(Date);
  });

  it("confirms nothing without the password chosen at registration, and leaves the link valid", async () => {
    const user = await createUser(db(), UNCONFIRMED);
    const token = await sendToken(user);

    expect(await verifyEmail(db(), { token, password: "Someone-Elses-Pass-1", ip: uniqueIp(), userAgent: null })).toEqual({
      ok: false,
      code: "WRONG_PASSWORD",
    });
    expect(await verifyEmail(db(), { token, password: "", ip: uniqueIp(), userAgent: null })).toEqual({
      ok: false,
      code: "WRONG_PASSWORD",
    });

    expect(await emailVerifiedAt(db(), user.id)).toBeNull();
    expect(await eventsOf(db(), user.id, "email_verification.wrong_password")).toHaveLength(2);
    expect(await inspectVerificationToken(db(), token)).toMatchObject({ status: "valid" });
    expect(await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).toEqual({ ok: false, code: "INVALID_CREDENTIALS" });

    expect(await verifyEmail(db(), { token, password: CURRENT_PASSWORD, ...NO_CONTEXT })).toEqual({ ok: true });
    expect(await verifyCredentials(db(), user.email, CURRENT_PASSWORD)).toMatchObject({ ok: true, user: { id: user.id } });
  });

  it("counts password guesses on a link against the address's sign-in limit before checking them, and refuses past it even the right one", async () => {
    const user = await createUser(db(), UNCONFIRMED);
    const token = await sendToken(user);
    const ip = uniqueIp();
    const max = env().SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP;

    // Guesses sent together: none may slip past the limit.
    const guesses = await Promise.all(
      Array.from({ length: max + 3 }, (_, i) => verifyEmail(db(), { token, password: `Wrong-Guess-${i}!`, ip, userAgent: null })),
    );
    expect(guesses.filter((g) => !g.ok && g.code === "WRONG_PASSWORD")).toHaveLength(max);
    expect(guesses.filter((g) => !g.ok && g.code === "RATE_LIMITED")).toHaveLength(3);

    const right = await verifyEmail(db(), { token, password: CURRENT_PASSWORD, ip, userAgent: null });
    expect(right).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    expect(!right.ok && right.code === "RATE_LIMITED" && right.retryAfterSeconds).toBeGreaterThan(0);
    // The same budget as the sign-in form's: that is spent too.
    expect(await attemptSignIn(db(), { email: user.email, password: CURRENT_PASSWORD, ip, userAgent: null })).toMatchObject({
      code: "RATE_LIMITED",
    });
    expect(await emailVerifiedAt(db(), user.id)).toBeNull();
    expect(await inspectVerificationToken(db(), token)).toMatchObject({ status: "valid" });
    // From another network, the right password still confirms.
    expect(await verifyEmail(db(), { token, password: CURRENT_PASSWORD, ip: uniqueIp(), userAgent: null })).toEqual({ ok: true });
  });

  it("answers a resend request the same for an unconfirmed, a confirmed and an unknown address, and mails only the unconfirmed one after the response", async () => {
    const waiting = await createUser(db(), UNCONFIRMED);
    const confirmed = await createUser(db());
    const unknown = uniqueEmail();
    const { schedule, pending, runAll } = collectingSchedule();

    const answers = [];
    for (const email of [` ${waiting.email.toUpperCase()}`, confirmed.email, unknown]) {
      answers.push(await requestVerificationEmail(db(), { email, ip: uniqueIp(), userAgent: null }, schedule));
    }
    expect(answers).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(pending).toHaveLength(3);
    expect(await outbox.all()).toEqual([]);
    for (const user of [waiting, confirmed]) {
      expect(await db().select().from(emailVerificationTokens).where(eq(emailVerificationTokens.userId, user.id))).toEqual([]);
    }

    await runAll();
    const sent = await outbox.all();
    expect(sent.map((m) => m.to)).toEqual([waiting.email]);
    const token = tokenIn(sent[0], VERIFY_LINK);
    expect(await verifyEmail(db(), { token, password: CURRENT_PASSWORD, ...NO_CONTEXT })).toEqual({ ok: true });
  });

  it("sends at most three confirmation links an hour to one address without saying so, and limits requests per IP visibly", async () => {
    const user = await createUser(db(), UNCONFIRMED);
    const { schedule, runAll } = collectingSchedule();

    for (let i = 0; i < RESEND_VERIFICATION_LIMIT.max + 2; i++) {
      expect(await requestVerificationEmail(db(), { email: user.email, ip: uniqueIp(), userAgent: null }, schedule)).toEqual({ ok: true });
    }
    await runAll();
    const sent = await outbox.to(user.email, verifyEmailSubject);
    expect(RESEND_VERIFICATION_LIMIT.max).toBe(3);
    expect(sent).toHaveLength(RESEND_VERIFICATION_LIMIT.max);
    // Each email carries its own working link.
    const tokens = sent.map((m) => tokenIn(m, VERIFY_LINK));
    expect(new Set(tokens).size).toBe(RESEND_VERIFICATION_LIMIT.max);
    for (const token of tokens) expect(await inspectVerificationToken(db(), token)).toMatchObject({ status: "valid" });

    const ip = uniqueIp();
    for (let i = 0; i < RESEND_VERIFICATION_IP_LIMIT.max; i++) {
      expect(await requestVerificationEmail(db(), { email: uniqueEmail(), ip, userAgent: null }, schedule)).toEqual({ ok: true });
    }
    const refused = await requestVerificationEmail(db(), { email: uniqueEmail(), ip, userAgent: null }, schedule);
    expect(refused).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    expect(!refused.ok && refused.retryAfterSeconds).toBeGreaterThan(0);
  });
});
