import "server-only";

/**
 * A passkey's assertion as the page's script put it in a form (JSON text). None (a post without
 * JavaScript) is undefined, which asks for a second factor again, counting nothing; anything
 * unreadable is null, refused like a wrong passkey.
 */
export function parsedAssertion(value: string | undefined): unknown {
  if (!value) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return null;
  }
}

/**
 * The passkey a "Confirm it's you" form posted (its `passkey` field), with what its ceremony
 * was bound to: this session's token (beginConfirmPasskeyAction). Null when none was posted.
 */
export function postedPasskey(formData: FormData, sessionToken: string | undefined): { response: unknown; binding: string } | null {
  const assertion = formData.get("passkey");
  if (typeof assertion !== "string" || !assertion || !sessionToken) return null;
  return { response: parsedAssertion(assertion), binding: sessionToken };
}
