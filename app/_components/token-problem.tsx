import Link from "next/link";
import type { ReactNode } from "react";

/** The page shown for an emailed link that does not work: which problem, and what to do. */
export function TokenProblemCard({
  status,
  title,
  body,
  action,
  children,
}: {
  status: string;
  title: string;
  body: string;
  action: { href: string; label: string };
  children?: ReactNode;
}) {
  return (
    <div className="card stack" data-token-status={status}>
      <h1>{title}</h1>
      <p>{body}</p>
      <p>
        <Link className="button-link" href={action.href}>
          {action.label}
        </Link>
      </p>
      {children}
    </div>
  );
}
