// First-load JavaScript per page: loads each page in Chromium (a fresh context each, so no
// cache) and sums the compressed bytes of every script received by the load event. Later
// requests are left out: Next.js prefetches the routes a page links to once it is idle, and
// a lazily imported chunk is not first-load.
//   node scripts/measure-first-load-js.mjs http://localhost:3000      (prints JSON)
// The bench (scripts/bench-forgot-password.mjs) calls measureFirstLoadJs() on its server.
import { existsSync } from "node:fs";
import { chromium } from "@playwright/test";

export const PAGES = ["/", "/login", "/register", "/forgot-password", "/reset-password/bench-not-a-real-token"];

/** { path: compressed script bytes } for each of PAGES on `base`. */
export async function measureFirstLoadJs(base, pages = PAGES) {
  const executablePath = process.env.CHROMIUM_PATH || ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find((p) => existsSync(p));
  const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
  const bytes = {};
  try {
    for (const path of pages) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const sizes = [];
      let loaded = false;
      page.on("requestfinished", (request) => {
        if (!loaded && request.resourceType() === "script") sizes.push(request.sizes().then((s) => s.responseBodySize));
      });
      await page.goto(`${base}${path}`, { waitUntil: "load" });
      loaded = true;
      bytes[path] = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
      await context.close();
    }
  } finally {
    await browser.close();
  }
  return bytes;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await measureFirstLoadJs(process.argv[2] ?? "http://localhost:3000"), null, 2));
}
