import type { Metadata } from "next";
import Link from "next/link";
import { getDb } from "@/lib/db";
import { requireAdmin } from "@/lib/admin/access";
import { PERIODS, parsePeriod, readRecoveryStats, type Period } from "@/lib/admin/stats";
import styles from "./dashboard.module.css";
import { DailyChart } from "./daily-chart";

export const metadata: Metadata = { title: "Recovery dashboard" };

const PERIOD_LABELS: Record<Period, string> = { "24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days" };

function formatDuration(seconds: number | null): string {
  if (seconds === null) return "No resets yet";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export default async function AdminDashboardPage({ searchParams }: { searchParams: Promise<{ period?: string | string[] }> }) {
  await requireAdmin();
  const period = parsePeriod((await searchParams).period);
  const stats = await readRecoveryStats(await getDb(), period);
  const figures: [string, string][] = [
    ["Reset requests", String(stats.resetRequests)],
    ["Reset emails sent", String(stats.resetEmailsSent)],
    ["Resets completed", String(stats.resetsCompleted)],
    ["Success rate", stats.successRate === null ? "No emails sent" : `${Math.round(stats.successRate * 100)}%`],
    ["Links expired unused", String(stats.linksExpiredUnused)],
    ["Invalid link attempts", String(stats.invalidLinkAttempts)],
    ["Emails failed", String(stats.emailsFailed)],
    ["Emails retrying or abandoned", `${stats.emailsRetrying} retrying, ${stats.emailJobsAbandoned} abandoned`],
    ["Throttled requests", String(stats.throttledRequests)],
    ["Failed sign-ins", String(stats.failedSignIns)],
    ["Median time to reset", formatDuration(stats.medianSecondsToReset)],
  ];
  return (
    <div className="stack">
      <h1>Recovery dashboard</h1>
      {/* Links, not a script-driven control: the period works without JavaScript. */}
      <nav aria-label="Period">
        <ul className={styles.periods}>
          {(Object.keys(PERIODS) as Period[]).map((p) => (
            <li key={p}>
              <Link href={`/admin?period=${p}`} aria-current={p === period ? "page" : undefined}>
                {PERIOD_LABELS[p]}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <h2>{PERIOD_LABELS[period]}</h2>
      <dl className={styles.figures}>
        {figures.map(([label, value]) => (
          <div className={styles.figure} key={label}>
            <dt>{label}</dt>
            <dd data-figure={label}>{value}</dd>
          </div>
        ))}
      </dl>
      <h2>Requests and completions per day</h2>
      <DailyChart daily={stats.daily} />
    </div>
  );
}
