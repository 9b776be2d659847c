import type { Metadata } from "next";
import Link from "next/link";
import { env } from "@/lib/env";
import { readOutbox } from "@/lib/mail/outbox";

// Named page.dev.tsx: next.config.ts adds the "dev.tsx" extension only for `next dev`, so this
// page does not exist in a production build at all.
export const metadata: Metadata = { title: "Development outbox", robots: { index: false } };

const URL_PATTERN = /https?:\/\/[^\s<>"')\]]+/g;

export default async function OutboxPage({ searchParams }: { searchParams: Promise<{ id?: string }> }) {
  const { id } = await searchParams;
  const messages = await readOutbox(env().MAIL_OUTBOX_DIR);
  const selected = messages.find((m) => m.id === id) ?? messages[0];
  const links = selected ? [...new Set(selected.text.match(URL_PATTERN) ?? [])] : [];

  return (
    <div className="card wide stack">
      <h1>Development outbox</h1>
      <p className="lead">
        Emails the app sent while RESEND_API_KEY is unset. They are files in <code>{env().MAIL_OUTBOX_DIR}</code>.
      </p>
      {messages.length === 0 ? <p>No emails yet. Ask for a password reset to see one here.</p> : null}
      {messages.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Sent</th>
              <th scope="col">To</th>
              <th scope="col">Subject</th>
            </tr>
          </thead>
          <tbody>
            {messages.map((m) => (
              <tr key={m.id} aria-current={m.id === selected?.id ? "true" : undefined}>
                <td>{new Date(m.createdAt).toLocaleString("en-GB")}</td>
                <td>{m.to}</td>
                <td>
                  <Link href={`/dev/outbox?id=${m.id}`}>{m.subject}</Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {selected ? (
        <section className="stack" aria-labelledby="message-subject">
          <h2 id="message-subject">{selected.subject}</h2>
          <p>
            To {selected.to}, from {selected.from}
          </p>
          {links.length > 0 ? (
            <>
              <h3>Links in this email</h3>
              <ul>
                {links.map((href) => (
                  <li key={href}>
                    <a href={href}>{href}</a>
                  </li>
                ))}
              </ul>
            </>
          ) : null}
          <h3>HTML</h3>
          <iframe
            title={`HTML version of ${selected.subject}`}
            srcDoc={selected.html}
            sandbox=""
            style={{ width: "100%", height: "32rem", border: "1px solid #d4d4d8" }}
          />
          <h3>Plain text</h3>
          <pre className="mail">{selected.text}</pre>
        </section>
      ) : null}
    </div>
  );
}
