// Sign-ins racing a credential change, for the race tests: loops of sign-ins in flight while
// the change commits (PostgreSQL only: PGlite runs one query at a time and cannot show a race).

/**
 * Runs `loops` concurrent loops of `signIn` (each returns the token it got, or null), commits
 * `change` once a few tokens exist (so that sign-ins are in flight, on a slow machine too),
 * lets the loops run 60 ms more and returns every token issued.
 */
export async function signInsRacing(options: {
  signIn: () => Promise<string | null>;
  change: () => Promise<void>;
  loops?: number;
}): Promise<string[]> {
  const tokens: string[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      const token = await options.signIn();
      if (token) tokens.push(token);
    }
  };
  const loops = Array.from({ length: options.loops ?? 6 }, loop);
  // Wait for a few tokens rather than a fixed time, which a loaded machine may spend without any.
  const waitUntil = Date.now() + 20_000;
  while (tokens.length < 3 && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 5));
  await options.change();
  await new Promise((r) => setTimeout(r, 60));
  running = false;
  await Promise.all(loops);
  return tokens;
}
