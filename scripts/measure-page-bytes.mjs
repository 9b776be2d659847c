// What a page makes a visitor download without any action of theirs: each page is loaded in
// Chromium (a fresh context each, so no cache), then left alone until the network has been
// quiet for QUIET_MS (bounded by MAX_WAIT_MS). Counted are the compressed bytes of every
// response: the document, styles, scripts by the load event, and whatever comes after it
// unasked (chunks imported at idle, Next.js's prefetch of the routes the page links to).
// Counting only the load event's scripts hid the 91 KiB of zod the forms imported right after it.
//   node scripts/measure-page-bytes.mjs http://localhost:3000 [/reset-password/<live token> ...]
//   (prints JSON; MEASURE_LIST=1 lists each response). The reset page shows its form only for a
//   live token, which the bench creates; an unknown one shows an error page.
// The bench (scripts/bench-forgot-password.mjs) calls measurePageBytes() on its server.
import { existsSync } from "node:fs";
import { chromium } from "@playwright/test";

// The home page (the reference) and the pages with a form a visitor reaches signed out without
// a link from an email (/device asks for a session first).
export const PAGES = ["/", "/login", "/register", "/forgot-password", "/resend-verification"];
const QUIET_MS = Number(process.env.MEASURE_QUIET_MS ?? 2000);
const MAX_WAIT_MS = 20_000;
// Next.js prefetches a few of a page's links on some visits and not on others (0.2 to 0.8 KiB
// each), so each page is visited this many times and the median visit reported.
const VISITS = Number(process.env.MEASURE_VISITS ?? 3);

/**
 * { path: { total, scripts, scriptsByLoad, requests, quiet, totals } } in compressed bytes for
 * each of PAGES on `base`: the median visit by `total` (everything fetched until the network
 * went quiet), and `totals` of every visit.
 */
export async function measurePageBytes(base, pages = PAGES) {
  const executablePath = process.env.CHROMIUM_PATH || ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find((p) => existsSync(p));
  const browser = await chromium.launch({
    executablePath,
    // Chromium's own background fetches (components, safe browsing) are not the page's.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  const result = {};
  try {
    for (const path of pages) {
      const visits = [];
      for (let i = 0; i < VISITS; i++) visits.push(await measureOne(browser, `${base}${path}`));
      visits.sort((a, b) => a.total - b.total);
      result[path] = { ...visits[Math.floor((visits.length - 1) / 2)], totals: visits.map((v) => v.total) };
    }
  } finally {
    await browser.close();
  }
  return result;
}

async function measureOne(browser, url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const responses = [];
  let inFlight = 0;
  let lastActivity = Date.now();
  let loaded = false;
  page.on("request", () => {
    inFlight++;
    lastActivity = Date.now();
  });
  const settle = () => {
    inFlight--;
    lastActivity = Date.now();
  };
  page.on("requestfinished", (request) => {
    settle();
    const entry = { url: request.url(), type: request.resourceType(), byLoad: !loaded };
    responses.push({ ...entry, size: request.sizes().then((s) => s.responseBodySize) });
  });
  page.on("requestfailed", settle);
  try {
    await page.goto(url, { waitUntil: "load" });
    loaded = true;
    const start = Date.now();
    // A quiet period is the only sign that nothing more is coming: a fixed wait by design.
    while (Date.now() - start < MAX_WAIT_MS && (inFlight > 0 || Date.now() - lastActivity < QUIET_MS)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const sized = await Promise.all(responses.map(async (r) => ({ ...r, size: await r.size })));
    const sum = (list) => list.reduce((n, r) => n + r.size, 0);
    const scripts = sized.filter((r) => r.type === "script");
    return {
      total: sum(sized),
      scripts: sum(scripts),
      scriptsByLoad: sum(scripts.filter((r) => r.byLoad)),
      requests: sized.length,
      quiet: inFlight === 0 && Date.now() - lastActivity >= QUIET_MS,
      ...(process.env.MEASURE_LIST === "1"
        ? { list: sized.map((r) => `${r.byLoad ? "load " : "after"} ${r.type} ${r.size} ${r.url}`) }
        : {}),
    };
  } finally {
    await context.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [base = "http://localhost:3000", ...more] = process.argv.slice(2);
  console.log(JSON.stringify(await measurePageBytes(base, [...PAGES, ...more]), null, 2));
}
