import Link from "next/link";
import styles from "./account-nav.module.css";

const LINKS = [
  { href: "/account", label: "Account" },
  { href: "/account/password", label: "Password" },
  { href: "/account/email", label: "Email" },
  { href: "/account/sessions", label: "Sessions" },
  { href: "/account/two-factor", label: "Two-factor" },
  { href: "/account/passkeys", label: "Passkeys" },
  { href: "/account/export", label: "Your data" },
  { href: "/account/delete", label: "Delete account" },
] as const;

/** The account area's pages; `current` is marked for assistive technology too. */
export function AccountNav({ current }: { current: (typeof LINKS)[number]["href"] }) {
  return (
    <nav aria-label="Account" className={styles.nav}>
      <ul>
        {LINKS.map((link) => (
          <li key={link.href}>
            <Link href={link.href} aria-current={link.href === current ? "page" : undefined}>
              {link.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
