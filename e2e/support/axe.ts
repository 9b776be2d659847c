import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

/** Runs axe (WCAG 2.1 A/AA and best practices) and fails on any serious or critical violation. */
export async function expectNoSeriousViolations(page: Page): Promise<void> {
  // After a client-side navigation (a server action's redirect) the URL changes before Next.js
  // streams the new page's <title> in: wait for it, so axe judges the page, not the moment. A
  // page without a title still fails, here.
  await expect(page).toHaveTitle(/\S/);
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]).analyze();
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`)).toEqual([]);
}
