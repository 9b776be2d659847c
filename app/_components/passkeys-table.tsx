import type { ReactNode } from "react";
import type { PasskeySummary } from "@/lib/second-factor/passkeys";
import { formatWhen } from "./sessions-table";
import styles from "./sessions-table.module.css";

/** "Synced" (e.g. iCloud Keychain, Google Password Manager) or "This device only". */
export function describePasskeyKind(passkey: Pick<PasskeySummary, "deviceType" | "backedUp">): string {
  if (passkey.deviceType === "multiDevice" || passkey.backedUp) return "Synced across your devices";
  if (passkey.deviceType === "singleDevice") return "This device only";
  return "Unknown";
}

/**
 * A user's passkeys, oldest first: the passkeys page (with rename and remove in the last
 * column) and the sessions page after a reset (read-only) show the same facts.
 */
export function PasskeysTable({ passkeys, action }: { passkeys: PasskeySummary[]; action?: (passkey: PasskeySummary) => ReactNode }) {
  return (
    <div className={styles.scroll} role="region" aria-labelledby="passkeys-caption" tabIndex={0}>
      <table>
        <caption id="passkeys-caption" className={styles.caption}>
          Your passkeys, oldest first. Times are in UTC.
        </caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Added</th>
            <th scope="col">Last used</th>
            <th scope="col">Kept</th>
            {action ? (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {passkeys.map((passkey) => (
            <tr key={passkey.id} data-testid="passkey-row">
              <th scope="row" className={styles.device} data-testid="passkey-name">
                {passkey.name}
              </th>
              <td>
                <time dateTime={passkey.createdAt.toISOString()}>{formatWhen(passkey.createdAt)}</time>
              </td>
              <td data-testid="passkey-last-used">
                {passkey.lastUsedAt ? <time dateTime={passkey.lastUsedAt.toISOString()}>{formatWhen(passkey.lastUsedAt)}</time> : "Never"}
              </td>
              <td data-testid="passkey-kind">{describePasskeyKind(passkey)}</td>
              {action ? <td className={styles.action}>{action(passkey)}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
