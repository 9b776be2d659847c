import { Fragment, type ReactNode } from "react";
import type { UserSession } from "@/lib/auth/user-sessions";
import { describeUserAgent } from "@/lib/user-agent";
import styles from "./sessions-table.module.css";

// One table for a user's sessions: the account's sessions page (with "This device" and a
// sign-out button per row) and the admin's account page (read-only) show the same facts.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number) => String(n).padStart(2, "0");

/** "21 Nov 2026" and "14:05 UTC": one fixed zone, so the server can render it and nobody misreads it. */
function dayAndTime(date: Date): [string, string] {
  return [
    `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`,
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`,
  ];
}

/** "21 Nov 2026, 14:05 UTC" as plain text (e.g. for a button's accessible name). */
export const formatWhen = (date: Date): string => dayAndTime(date).join(", ");

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

const KIND_LABELS = { app: "App", device: "Command-line tool" } as const;

/**
 * What a session is, in a few words: a browser by its user agent ("Chrome on Windows"), an app
 * or command-line tool by the name it gave itself ("Rekey CLI (app)").
 */
export function describeSession(session: Pick<UserSession, "kind" | "clientName" | "userAgent">): string {
  if (session.kind === "browser") return describeUserAgent(session.userAgent);
  return `${session.clientName ?? "Unnamed client"} (${KIND_LABELS[session.kind].toLowerCase()})`;
}

/** Whether the sign-in that made this session passed a second factor. */
function SecondFactor({ session }: { session: UserSession }) {
  return session.secondFactorAt ? (
    <span className={styles.verified} data-testid="second-factor">
      Two-factor verified
    </span>
  ) : (
    <span className={styles.passwordOnly} data-testid="second-factor">
      Password only
    </span>
  );
}

/**
 * A user's sessions, most recently active first. `currentId` marks this browser's row;
 * `action` renders the last column (none when absent).
 */
export function SessionsTable({
  sessions,
  currentId,
  action,
}: {
  sessions: UserSession[];
  currentId?: string;
  action?: (session: UserSession, device: string, current: boolean) => ReactNode;
}) {
  return (
    <div className={styles.scroll} role="region" aria-labelledby="sessions-caption" tabIndex={0}>
      <table>
        <caption id="sessions-caption" className={styles.caption}>
          Active sessions, most recently active first. Times are in UTC.
        </caption>
        <thead>
          <tr>
            <th scope="col">Browser or app</th>
            <th scope="col">IP address</th>
            <th scope="col">Signed in</th>
            <th scope="col">Second factor</th>
            <th scope="col">Last active</th>
            {action ? (
              <th scope="col">
                <span className="visually-hidden">Action</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {sessions.map((session) => {
            const device = describeSession(session);
            const current = session.id === currentId;
            return (
              <tr key={session.id} data-testid="session-row" data-current={current}>
                <th scope="row">
                  <span className={styles.device}>{device}</span>
                  {session.kind !== "browser" ? (
                    <span className={styles.client} data-testid="session-kind">
                      {KIND_LABELS[session.kind]} · {describeUserAgent(session.userAgent)}
                    </span>
                  ) : null}
                  {current ? <span className={styles.badge}>This device</span> : null}
                </th>
                <td>
                  <IpAddress ip={session.ip} />
                </td>
                <td>
                  <When date={session.createdAt} />
                </td>
                <td>
                  <SecondFactor session={session} />
                </td>
                <td>
                  <When date={session.lastSeenAt} />
                </td>
                {action ? <td className={styles.action}>{action(session, device, current)}</td> : null}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
