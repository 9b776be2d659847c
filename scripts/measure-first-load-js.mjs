// First-load JavaScript per page: loads each page in Chromium (a fresh context each, so no
// cache) and sums the compressed bytes of every script it receives until the network is idle.
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
      page.on("requestfinished", (request) => {
        if (request.resourceType() === "script") sizes.push(request.sizes().then((s) => s.responseBodySize));
      });
      await page.goto(`${base}${path}`, { waitUntil: "networkidle" });
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
