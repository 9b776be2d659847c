import "server-only";
import { randomBytes } from "node:crypto";
import { render } from "@react-email/render";
import { createElement, type ComponentType, type ReactElement } from "react";

/**
 * An email template rendered once per process with a placeholder in every prop, split at the
 * placeholders; each message then only joins its values in. A React Email render (HTML and its
 * plain-text conversion) costs milliseconds of CPU; a fill costs microseconds.
 */
interface Compiled {
  html: (string | number)[];
  text: (string | number)[];
  /** Props that appear in an href: see `fillable`. */
  inLinks: Set<number>;
}

// Random per process, so no template text can contain a placeholder by chance. Digits and
// letters only: neither React's escaping nor the plain-text conversion changes them.
const marker = `rk${randomBytes(6).toString("hex")}`;
const placeholder = (i: number) => `${marker}p${i}e`;
const placeholderPattern = new RegExp(`${marker}p(\\d+)e`);

const cache = new WeakMap<ComponentType<never>, Map<string, Promise<Compiled>>>();

/** Alternating literals and prop indexes: "a", 0, "b" for `a${prop 0}b`. */
function split(rendered: string): (string | number)[] {
  const parts = rendered.split(placeholderPattern);
  return parts.map((part, i) => (i % 2 === 1 ? Number(part) : part));
}

// What React does to text and attribute values (react-dom's escapeTextForBrowser).
const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;" };
const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
// The plain-text conversion collapses every run of HTML whitespace into one space.
const collapseWhitespace = (value: string) => value.replace(/[ \t\n\r\f]+/g, " ");

function fill(parts: (string | number)[], values: string[], transform: (value: string) => string): string {
  let out = "";
  for (const part of parts) out += typeof part === "number" ? transform(values[part] ?? "") : part;
  return out;
}

async function compile(component: ComponentType<never>, names: string[]): Promise<Compiled> {
  const props = Object.fromEntries(names.map((name, i) => [name, placeholder(i)]));
  const element = createElement(component as ComponentType<Record<string, string>>, props);
  const [html, text] = await Promise.all([render(element), render(element, { plainText: true })]);
  const inLinks = new Set([...html.matchAll(new RegExp(`href="[^"]*${marker}p(\\d+)e`, "g"))].map((m) => Number(m[1])));
  return { html: split(html), text: split(text), inLinks };
}

/**
 * The HTML and plain text of `react`: filled into the template's cached rendering when every
 * prop is a string or a number (values HTML-escaped in the HTML, plain in the text), rendered
 * directly otherwise.
 */
export async function renderTemplate(react: ReactElement): Promise<{ html: string; text: string }> {
  const props = (react.props ?? {}) as Record<string, unknown>;
  const names = Object.keys(props).sort();
  const fillable = typeof react.type === "function" && names.every((n) => typeof props[n] === "string" || typeof props[n] === "number");
  if (!fillable) {
    const [html, text] = await Promise.all([render(react), render(react, { plainText: true })]);
    return { html, text };
  }
  const component = react.type as ComponentType<never>;
  let byShape = cache.get(component);
  if (!byShape) cache.set(component, (byShape = new Map()));
  const shape = names.join("\0");
  let compiled = byShape.get(shape);
  if (!compiled) {
    compiled = compile(component, names);
    byShape.set(shape, compiled);
    // A failed render is not kept: the next message tries again.
    compiled.catch(() => byShape.delete(shape));
  }
  const { html, text, inLinks } = await compiled;
  const values = names.map((n) => String(props[n]));
  // The plain-text conversion prints a link's address after its text unless the two are equal
  // once its whitespace is normalised, which a placeholder cannot predict. Links are URLs,
  // which hold no whitespace; anything else is rendered directly.
  if ([...inLinks].some((i) => /\s/.test(values[i] ?? ""))) {
    const [directHtml, directText] = await Promise.all([render(react), render(react, { plainText: true })]);
    return { html: directHtml, text: directText };
  }
  return { html: fill(html, values, escapeHtml), text: fill(text, values, collapseWhitespace) };
}
