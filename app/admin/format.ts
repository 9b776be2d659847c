/** "2026-11-21 14:05 UTC": one fixed zone, so the server can render it and nobody misreads it. */
export function formatUtc(date: Date | null): string {
  if (!date) return "Never";
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
