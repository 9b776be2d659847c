"use client";

import { useEffect, useRef, useState } from "react";
import { useHydrated } from "@/app/_components/use-hydrated";
import styles from "./two-factor.module.css";

/** What a set of recovery codes stands in for, said the way its owner knows it. */
const STANDS_IN_FOR = {
  app: "If you lose your phone, each of these codes signs you in (or lets you reset your password) once, instead of a code from your app.",
  passkey:
    "If you lose your passkey (or the device that holds it), each of these codes signs you in (or lets you reset your password) once, instead of the passkey.",
} as const;

/**
 * The recovery codes, shown once: as a list, as a .txt download (a data: link, so it works
 * without JavaScript) and, with JavaScript, a "Copy" button. `factor`: the second factor that
 * brought them (an authenticator app, or a first passkey).
 */
export function RecoveryCodes({
  codes,
  message,
  doneHref = "/account/two-factor",
  factor = "app",
}: {
  codes: string[];
  message: string;
  doneHref?: string;
  factor?: keyof typeof STANDS_IN_FOR;
}) {
  const hydrated = useHydrated();
  const [copied, setCopied] = useState<"idle" | "copied" | "failed">("idle");
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), []);
  const text = `Rekey recovery codes\nEach code works once. Keep them somewhere safe.\n\n${codes.join("\n")}\n`;

  async function copy() {
    try {
      await navigator.clipboard.writeText(codes.join("\n"));
      setCopied("copied");
    } catch {
      setCopied("failed");
    }
  }

  return (
    <section className="stack" aria-labelledby="recovery-codes-heading">
      <div className="alert alert-success" role="status">
        <p>{message}</p>
      </div>
      <h2 id="recovery-codes-heading" ref={headingRef} tabIndex={-1}>
        Save your recovery codes
      </h2>
      <p>{STANDS_IN_FOR[factor]} This is the only time they are shown: download them or copy them somewhere safe now.</p>
      <ol className={styles.codes} aria-label="Recovery codes" data-testid="recovery-codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <div className={styles.actions}>
        <a className="button-link" href={`data:text/plain;charset=utf-8,${encodeURIComponent(text)}`} download="rekey-recovery-codes.txt">
          Download
        </a>
        {hydrated ? (
          <button type="button" className="secondary" onClick={() => void copy()}>
            Copy
          </button>
        ) : null}
        <span role="status" className={styles.copied}>
          {copied === "copied"
            ? "Copied to the clipboard."
            : copied === "failed"
              ? "Could not copy: select the codes and copy them by hand."
              : ""}
        </span>
      </div>
      <p>
        {/* A full load, not a client-side one: the codes live in this form's state, which a soft
            navigation to the same page would keep on screen. */}
        <a href={doneHref}>I have saved my recovery codes</a>
      </p>
    </section>
  );
}
