import type { Metadata } from "next";
import { Fragment } from "react";
import { FormAlert } from "@/app/_components/fields";
import { getDb } from "@/db/client";
import { requireSession } from "@/lib/auth/current";
import { listUserSessions, type UserSession } from "@/lib/auth/sessions";
import { describeUserAgent } from "@/lib/user-agent";
import { AccountNav } from "../account-nav";
import { signOutOtherSessionsAction, signOutSessionAction } from "./actions";
import styles from "./sessions.module.css";

export const metadata: Metadata = { title: "Sessions" };

const NOTICES: Record<string, string> = {
  "signed-out-one": "That session has been signed out.",
  "signed-out-others": "All your other sessions have been signed out.",
  "already-ended": "That session had already ended.",
};

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number) => String(n).padStart(2, "0");

/** "21 Nov 2026" and "14:05 UTC": one fixed zone, so the server can render it and nobody misreads it. */
function dayAndTime(date: Date): [string, string] {
  return [
    `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`,
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`,
  ];
}

const formatWhen = (date: Date): string => dayAndTime(date).join(", ");

/** Wraps, if it must, only between the day and the time. */
function When({ date }: { date: Date }) {
  const [day, time] = dayAndTime(date);
  return (
    <time dateTime={date.toISOString()}>
      <span className={styles.nowrap}>{day},</span> <span className={styles.nowrap}>{time}</span>
    </time>
  );
}

/** An IP address; an IPv6 one may wrap after a colon, never inside a group. */
function IpAddress({ ip }: { ip: string | null }) {
  if (!ip) return <>Unknown</>;
  const groups = ip.split(":");
  return (
    <>
      {groups.map((group, i) => (
        <Fragment key={i}>
          {group}
          {i < groups.length - 1 ? (
            <>
              :<wbr />
            </>
          ) : null}
        </Fragment>
      ))}
    </>
  );
}

function SessionRow({ session, current }: { session: UserSession; current: boolean }) {
  const device = describeUserAgent(session.userAgent);
  return (
    <tr data-testid="session-row" data-current={current}>
      <th scope="row">
        <span className={styles.device}>{device}</span>
        {current ? <span className={styles.badge}>This device</span> : null}
      </th>
      <td>
        <IpAddress ip={session.ip} />
      </td>
      <td>
        <When date={session.createdAt} />
      </td>
      <td>
        <When date={session.lastSeenAt} />
      </td>
      <td className={styles.action}>
        {current ? (
          <span className="hint">Current session</span>
        ) : (
          <form action={signOutSessionAction}>
            <input type="hidden" name="sessionId" value={session.id} />
            <button type="submit" className="danger">
              Sign out<span className="visually-hidden"> {device}, last active {formatWhen(session.lastSeenAt)}</span>
            </button>
          </form>
        )}
      </td>
    </tr>
  );
}

export default async function SessionsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const session = await requireSession("/account/sessions");
  const params = await searchParams;
  const notice = typeof params.notice === "string" ? NOTICES[params.notice] : undefined;
  const sessions = await listUserSessions(await getDb(), session.user.id);
  const hasOthers = sessions.some((s) => s.id !== session.sessionId);

  return (
    <div className="card wide stack">
      <AccountNav current="/account/sessions" />
      <h1>Sessions</h1>
      <p className="lead">Every browser signed in to your account. Sign out of any you do not recognise, then change your password.</p>
      {notice ? (
        <FormAlert tone="success">
          <p>{notice}</p>
        </FormAlert>
      ) : null}
      <div className={styles.scroll} role="region" aria-labelledby="sessions-caption" tabIndex={0}>
        <table>
          <caption id="sessions-caption" className={styles.caption}>
            Active sessions, most recently active first. Times are in UTC.
          </caption>
          <thead>
            <tr>
              <th scope="col">Browser and system</th>
              <th scope="col">IP address</th>
              <th scope="col">Signed in</th>
              <th scope="col">Last active</th>
              <th scope="col">
                <span className="visually-hidden">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <SessionRow key={s.id} session={s} current={s.id === session.sessionId} />
            ))}
          </tbody>
        </table>
      </div>
      {hasOthers ? (
        <form action={signOutOtherSessionsAction}>
          <div>
            <button type="submit" className="secondary">
              Sign out of all other sessions
            </button>
          </div>
        </form>
      ) : (
        <p className="hint">This is your only active session.</p>
      )}
    </div>
  );
}
