import { headers } from "next/headers";
import Link from "next/link";
import type { ReactNode } from "react";
import { requestContext } from "@/lib/client-ip";
import { getDb } from "@/lib/db";
import { auditLinkRefusal, type RefusedLink } from "@/lib/link-refusals";
import type { TokenProblem } from "@/lib/single-use-tokens";
import { TokenProblemCard } from "./token-problem";

type LinkStatus = "valid" | TokenProblem;

/**
 * The one shape of every page an emailed link opens: right after its action succeeded (the
 * `?done=1` redirect finds the token used) a "done" card; a link that does not work, its problem
 * and what to do, audited once per IP and hour; otherwise the page's own content. Opening the
 * page changes nothing, because mail scanners open links: only the page's form does.
 */
export async function TokenLinkPage({
  status,
  link,
  justDone,
  done,
  problems,
  problemAction,
  children,
}: {
  status: LinkStatus;
  /** Which kind of link, for the refusal's audit row. */
  link: RefusedLink;
  /** The page was reached by the action's own redirect (`?done=1`). */
  justDone: boolean;
  done: { title: string; body: ReactNode; status?: string };
  problems: Record<TokenProblem, { title: string; body: string }>;
  problemAction: (problem: TokenProblem) => { href: string; label: string };
  children: ReactNode;
}) {
  if (justDone && status === "used") {
    return (
      <div className="card stack" data-token-status={done.status ?? "done"}>
        <h1>{done.title}</h1>
        {done.body}
      </div>
    );
  }
  if (status !== "valid") {
    await auditLinkRefusal(await getDb(), link, status, requestContext(await headers()));
    const copy = problems[status];
    return <TokenProblemCard status={status} title={copy.title} body={copy.body} action={problemAction(status)} />;
  }
  return (
    <div className="card stack" data-token-status="valid">
      {children}
    </div>
  );
}

/** A link to the account page, for a "done" card. */
export function AccountLink() {
  return (
    <p>
      <Link className="button-link" href="/account">
        Go to your account
      </Link>
    </p>
  );
}

/** The form of a link whose page needs only a button: the token rides along as a hidden field. */
export function TokenButtonForm({
  action,
  token,
  tone,
  children,
}: {
  action: (formData: FormData) => Promise<void>;
  token: string;
  tone: "primary" | "danger";
  children: ReactNode;
}) {
  return (
    <form action={action}>
      <input type="hidden" name="token" value={token} />
      <button type="submit" className={tone}>
        {children}
      </button>
    </form>
  );
}
