/** /device with its one query parameter: a code to fill in, a review step, a decision made or a notice. */
export function devicePath(query: { code?: string; review?: string; done?: "approved" | "denied"; notice?: "gone" } = {}): string {
  const search = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => typeof e[1] === "string"));
  return search.size > 0 ? `/device?${search}` : "/device";
}
