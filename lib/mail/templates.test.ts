import { readdirSync } from "node:fs";
import path from "node:path";
import { render } from "@react-email/render";
import { createElement, type ComponentType } from "react";
import { describe, expect, it } from "vitest";
import { renderTemplate } from "./templates";

// Every template in emails/ (all but the layout and tests), with its preview props.
const emailsDir = path.resolve(__dirname, "../../emails");
const templateFiles = readdirSync(emailsDir).filter((f) => f.endsWith(".tsx") && !f.includes(".test.") && f !== "layout.tsx");

const TRICKY = [
  `<script>alert("x")</script> & 'quotes' "double" > less`,
  "https://rekey.test/reset-password/a&b=<c>?d=\"e\"&f='g'",
  "Zoë 日本語 🔑 ü — non-breaking\u00a0space",
  "&amp; already-escaped &lt;b&gt; and a lone &",
  "",
];

async function direct(component: ComponentType<Record<string, unknown>>, props: Record<string, unknown>) {
  const element = createElement(component, props);
  const [html, text] = await Promise.all([render(element), render(element, { plainText: true })]);
  return { html, text };
}

describe("renderTemplate", () => {
  it("finds the templates to prove", () => {
    expect(templateFiles.length).toBeGreaterThanOrEqual(4);
  });

  for (const file of templateFiles) {
    it(`fills ${file} exactly as a direct render would, for values with markup, entities, quotes and unicode`, async () => {
      const mod = (await import(path.join(emailsDir, file))) as {
        default: ComponentType<Record<string, unknown>> & { PreviewProps: Record<string, unknown> };
      };
      const component = mod.default;
      const preview = component.PreviewProps;
      expect(Object.keys(preview).length).toBeGreaterThan(0);
      for (const [i, tricky] of TRICKY.entries()) {
        // Every string prop gets a different tricky value; numbers stay numbers.
        const props = Object.fromEntries(
          Object.entries(preview).map(([name, value], j) => [
            name,
            typeof value === "string" ? `${TRICKY[(i + j) % TRICKY.length]}${j}` : value,
          ]),
        );
        const filled = await renderTemplate(createElement(component, props));
        expect(filled).toEqual(await direct(component, props));
        expect(filled.html).not.toContain(tricky.includes("<script>") ? "<script>" : "\u0000");
      }
    });
  }

  it("leaves a value's markup as text: escaped in the HTML, as written in the plain text", async () => {
    const mod = await import(path.join(emailsDir, "reset-password.tsx"));
    const component = mod.default as ComponentType<Record<string, unknown>> & { PreviewProps: Record<string, unknown> };
    const filled = await renderTemplate(createElement(component, { ...component.PreviewProps, requestIp: `<b>"x" & 'y'</b>` }));
    expect(filled.html).toContain("&lt;b&gt;&quot;x&quot; &amp; &#x27;y&#x27;&lt;/b&gt;");
    expect(filled.html).not.toContain("<b>");
    expect(filled.text).toContain(`<b>"x" & 'y'</b>`);
  });

  it("renders directly when a prop is not text (nothing to fill)", async () => {
    const mod = await import(path.join(emailsDir, "reset-password.tsx"));
    const component = mod.default as ComponentType<Record<string, unknown>> & { PreviewProps: Record<string, unknown> };
    const props = { ...component.PreviewProps, requestIp: null };
    expect(await renderTemplate(createElement(component, props))).toEqual(await direct(component, props));
  });
});
