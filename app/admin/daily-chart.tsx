import type { RecoveryStats } from "@/lib/admin/stats";
import styles from "./dashboard.module.css";

const WIDTH = 640;
const HEIGHT = 200;
const PAD = { top: 10, right: 10, bottom: 30, left: 36 };
const REQUESTS = "#1d4ed8";
const COMPLETIONS = "#166534";

/**
 * Requests and completions per day as bars, drawn on the server: it shows without JavaScript
 * and under the nonce CSP (SVG presentation attributes, no style attributes). The table that
 * follows carries the same numbers for screen readers, so the picture is aria-hidden.
 */
export function DailyChart({ daily }: { daily: RecoveryStats["daily"] }) {
  const max = Math.max(1, ...daily.flatMap((d) => [d.requests, d.completions]));
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotWidth / Math.max(1, daily.length);
  const bar = Math.max(1, slot / 2 - 2);
  const y = (n: number) => PAD.top + plotHeight - (n / max) * plotHeight;
  const labelEvery = Math.ceil(daily.length / 8);
  return (
    <figure className="stack">
      <svg className={styles.chart} viewBox={`0 0 ${WIDTH} ${HEIGHT}`} aria-hidden="true" data-testid="daily-chart">
        <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(0)} y2={y(0)} stroke="#52525b" />
        <text x={PAD.left - 4} y={y(max) + 4} textAnchor="end" fontSize="11" fill="#52525b">
          {max}
        </text>
        <text x={PAD.left - 4} y={y(0)} textAnchor="end" fontSize="11" fill="#52525b">
          0
        </text>
        {daily.map((d, i) => {
          const x = PAD.left + i * slot + 1;
          return (
            <g key={d.day}>
              <rect
                x={x}
                y={y(d.requests)}
                width={bar}
                height={y(0) - y(d.requests)}
                fill={REQUESTS}
                data-series="requests"
                data-value={d.requests}
              />
              <rect
                x={x + bar}
                y={y(d.completions)}
                width={bar}
                height={y(0) - y(d.completions)}
                fill={COMPLETIONS}
                data-series="completions"
                data-value={d.completions}
              />
              {i % labelEvery === 0 ? (
                <text x={x + bar} y={HEIGHT - 10} textAnchor="middle" fontSize="11" fill="#52525b">
                  {d.day.slice(5)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul className={styles.legend}>
          <li>
            <svg width="12" height="12" aria-hidden="true">
              <rect width="12" height="12" fill={REQUESTS} />
            </svg>{" "}
            Reset requests
          </li>
          <li>
            <svg width="12" height="12" aria-hidden="true">
              <rect width="12" height="12" fill={COMPLETIONS} />
            </svg>{" "}
            Resets completed
          </li>
        </ul>
      </figcaption>
      <table className={styles.table} data-testid="daily-table">
        <caption className="visually-hidden">Reset requests and completions per day (UTC)</caption>
        <thead>
          <tr>
            <th scope="col">Day (UTC)</th>
            <th scope="col">Reset requests</th>
            <th scope="col">Resets completed</th>
          </tr>
        </thead>
        <tbody>
          {daily.map((d) => (
            <tr key={d.day}>
              <th scope="row">{d.day}</th>
              <td>{d.requests}</td>
              <td>{d.completions}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
