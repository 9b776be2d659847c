import type { Metadata } from "next";
import { headers } from "next/headers";
import { notFound } from "next/navigation";
import { FormAlert } from "@/app/_components/fields";
import { SessionsTable } from "@/app/_components/sessions-table";
import { getDb } from "@/lib/db";
import { hasRecentPasswordCheck, requireAdmin } from "@/lib/admin/access";
import { reauthMinutes } from "@/lib/auth/confirm-identity";
import { openAccountById } from "@/lib/admin/users";
import { requestContext } from "@/lib/client-ip";
import { secondFactorsOf } from "@/lib/second-factor/second-factors";
import { RECOVERY_CODE_COUNT } from "@/lib/second-factor/recovery-codes";
import styles from "../../admin.module.css";
import { formatUtc } from "../../format";
import { ConfirmIdentityForm } from "@/app/_components/confirm-identity-form";
import { checkAdminPasswordAction } from "../../actions";
import { env } from "@/lib/env";
import {
  deleteAccountAction,
  forcePasswordResetAction,
  removeTwoFactorAction,
  resendVerificationAction,
  signOutEverywhereAction,
} from "../actions";

export const metadata: Metadata = { title: "Account" };

const NOTICES: Record<string, { tone: "success" | "error"; text: string }> = {
  "signed-out": { tone: "success", text: "Every session of this account has ended." },
  "reset-forced": {
    tone: "success",
    text: "The password no longer works, every session has ended, and a reset link is on its way to the address.",
  },
  "verification-sent": {
    tone: "success",
    text: "A new confirmation link is on its way (unless the address already had several this hour).",
  },
  "two-factor-removed": {
    tone: "success",
    text: "Two-factor authentication is off for this account, its recovery codes are deleted, and the owner has been emailed. A password reset now needs the emailed link only.",
  },
  "two-factor-off": { tone: "error", text: "This account does not have two-factor authentication on." },
  "already-confirmed": { tone: "error", text: "This address is already confirmed." },
  "not-found": { tone: "error", text: "That account no longer exists." },
  "password-needed": {
    tone: "error",
    text: "Confirm it's you first: admin actions need your password (and your code or passkey) entered within the last few minutes.",
  },
  "password-checked": { tone: "success", text: "Confirmed. You can act on this account now." },
  deleted: {
    tone: "success",
    text: "The account is deleted: every session and link has ended, and the owner has been emailed a link that cancels the deletion.",
  },
  "delete-mismatch": { tone: "error", text: "Type this account's exact email address to delete it. Nothing was deleted." },
};

export default async function AdminAccountPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const admin = await requireAdmin();
  const { id } = await params;
  const query = await searchParams;
  const db = await getDb();
  const account = /^[A-Za-z0-9-]{1,64}$/.test(id)
    ? await openAccountById(db, id, { adminId: admin.userId, ...requestContext(await headers()) })
    : null;
  if (!account) notFound();
  const notice = typeof query.notice === "string" ? NOTICES[query.notice] : undefined;
  const checked = await hasRecentPasswordCheck(db, admin.sessionId);
  const adminFactors = checked ? { totp: false, passkey: false } : await secondFactorsOf(db, admin.userId);
  const page = `/admin/users/${account.id}`;
  const erasedAfter = account.deletionRequestedAt
    ? new Date(account.deletionRequestedAt.getTime() + env().ACCOUNT_DELETION_GRACE_DAYS * 86_400_000)
    : null;

  return (
    <div className="stack">
      <h1>
        {account.email}{" "}
        {erasedAfter ? (
          <span className={styles.badge} data-testid="deletion-pending">
            Deletion pending
          </span>
        ) : null}
      </h1>
      {notice ? (
        <FormAlert tone={notice.tone}>
          <p>{notice.text}</p>
        </FormAlert>
      ) : null}
      <dl className={styles.facts}>
        <dt>Confirmed</dt>
        <dd>{account.confirmed ? "Yes" : "No"}</dd>
        <dt>Created</dt>
        <dd>{formatUtc(account.createdAt)}</dd>
        <dt>Last sign-in</dt>
        <dd>{formatUtc(account.lastSignInAt)}</dd>
        <dt>Password last changed</dt>
        <dd>{formatUtc(account.passwordChangedAt)}</dd>
        <dt>Password</dt>
        <dd>
          {account.hasPassword
            ? "Set"
            : account.passwordResetForcedAt
              ? `Reset forced ${formatUtc(account.passwordResetForcedAt)}`
              : "None (locked until reset)"}
        </dd>
        <dt>Two-factor authentication</dt>
        <dd data-testid="two-factor">
          {account.twoFactor.enabled
            ? `On since ${formatUtc(account.twoFactor.enabledAt)}, ${account.twoFactor.recoveryCodesLeft} of ${RECOVERY_CODE_COUNT} recovery codes left`
            : "Off"}
        </dd>
        <dt>Active sessions</dt>
        <dd data-testid="active-sessions">{account.sessions.length}</dd>
      </dl>

      {erasedAfter ? (
        <p data-testid="deletion-pending-note">
          Deleted {formatUtc(account.deletionRequestedAt)}: it cannot be signed in to or reset, and it is erased after{" "}
          {formatUtc(erasedAfter)} unless the owner cancels with the link emailed to them. Nothing here applies to it meanwhile.
        </p>
      ) : null}
      <h2>Actions</h2>
      {erasedAfter ? (
        <p>None while the deletion is pending.</p>
      ) : checked ? (
        <div className={styles.actions}>
          <form action={signOutEverywhereAction}>
            <input type="hidden" name="userId" value={account.id} />
            <button type="submit" className="secondary">
              Sign out everywhere
            </button>
          </form>
          <form action={forcePasswordResetAction}>
            <input type="hidden" name="userId" value={account.id} />
            <button type="submit" className="danger">
              Force password reset
            </button>
          </form>
          {account.twoFactor.enabled ? (
            <form action={removeTwoFactorAction}>
              <input type="hidden" name="userId" value={account.id} />
              <button type="submit" className="danger">
                Remove two-factor
              </button>
            </form>
          ) : null}
          {account.confirmed ? null : (
            <form action={resendVerificationAction}>
              <input type="hidden" name="userId" value={account.id} />
              <button type="submit" className="secondary">
                Resend verification email
              </button>
            </form>
          )}
          <form action={deleteAccountAction} aria-labelledby="delete-account-heading" className="stack">
            <h3 id="delete-account-heading">Delete account</h3>
            <input type="hidden" name="userId" value={account.id} />
            <div className="field">
              <label htmlFor="delete-account-email">Type the account&apos;s email address to confirm</label>
              <input id="delete-account-email" name="email" type="email" autoComplete="off" required />
            </div>
            <button type="submit" className="danger">
              Delete account
            </button>
          </form>
        </div>
      ) : null}
      {checked && account.twoFactor.enabled ? (
        <p className="hint">
          Remove two-factor only for an owner who lost both the authenticator and the recovery codes, after checking it is them by a way
          other than this email address: whoever reads the mailbox can ask for a reset link, and the second factor is what stops them.
        </p>
      ) : null}
      {checked || erasedAfter ? null : (
        <ConfirmIdentityForm
          returnTo={page}
          twoFactor={adminFactors.totp || adminFactors.passkey}
          passkey={adminFactors.passkey}
          minutes={reauthMinutes()}
          reason="Acting on an account needs a recent confirmation."
          action={checkAdminPasswordAction}
        />
      )}

      <h2>Sessions</h2>
      {account.sessions.length === 0 ? <p>No active sessions.</p> : <SessionsTable sessions={account.sessions} />}

      <h2>Recent events</h2>
      <div className={styles.scroll} role="region" aria-labelledby="events-caption" tabIndex={0}>
        <table>
          <caption id="events-caption" className={styles.caption}>
            The last {account.events.length} audit events of this account, newest first. Times are in UTC.
          </caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">IP address</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {account.events.map((e) => (
              <tr key={e.id}>
                <td>{formatUtc(e.createdAt)}</td>
                <th scope="row">{e.event}</th>
                <td>{e.ip ?? ""}</td>
                <td className={styles.details}>{Object.keys(e.details).length > 0 ? JSON.stringify(e.details) : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
