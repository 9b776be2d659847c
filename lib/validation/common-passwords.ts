// The dictionary (~50,000 passwords) is loaded on demand so it never lands in a page's
// initial JavaScript: the browser fetches it as a separate chunk once a password is typed.
let dictionary: Promise<ReadonlySet<string>> | undefined;

function loadDictionary(): Promise<ReadonlySet<string>> {
  dictionary ??= import("@zxcvbn-ts/language-common").then((m) => new Set(m.dictionary["passwords-common"].map((p) => p.toLowerCase())));
  return dictionary;
}

/** True when the password (ignoring case) is on the common-passwords list. */
export async function isCommonPassword(password: string): Promise<boolean> {
  return (await loadDictionary()).has(password.toLowerCase());
}
