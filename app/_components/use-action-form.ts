"use client";

import { useActionState, useEffect, useRef, useTransition, type FormEvent } from "react";
import { useForm, type DefaultValues, type FieldError, type FieldValues, type Path, type Resolver } from "react-hook-form";
import type { z } from "zod";
import type { FormState } from "./form-state";
import { useHydrated } from "./use-hydrated";

type Action<F extends string> = (state: FormState<F>, formData: FormData) => Promise<FormState<F>>;

/** All messages of a react-hook-form error (with criteriaMode "all", one per broken rule). */
function messagesOf(error: FieldError | undefined): string[] {
  if (!error) return [];
  const fromTypes = Object.values(error.types ?? {})
    .flatMap((v) => (Array.isArray(v) ? v : [v]))
    .filter((v): v is string => typeof v === "string");
  const all = fromTypes.length > 0 ? fromTypes : error.message ? [error.message] : [];
  return [...new Set(all)];
}

/**
 * react-hook-form + zod for instant feedback, submitted through useActionState so the same
 * form posts to the server action when JavaScript is off. Server field errors are merged into
 * react-hook-form's, and focus moves to the first field in error.
 */
export function useActionForm<Values extends FieldValues>(options: {
  /**
   * Loads the form's schema. zod and the resolver are imported on first use (or once the
   * page is idle), not in the page's first-load JavaScript; the server checks every post anyway.
   */
  schema: () => Promise<z.ZodType<unknown, Values>>;
  action: Action<Extract<keyof Values, string>>;
  defaultValues?: DefaultValues<Values>;
  /** Runs after the form validated and before it is posted (a passkey's assertion into a hidden field); false: not posted. */
  prepare?: (form: HTMLFormElement) => Promise<boolean>;
}) {
  type Field = Extract<keyof Values, string>;
  const [state, formAction, pending] = useActionState(options.action, { status: "idle" } as FormState<Field>);
  const [submitting, startTransition] = useTransition();
  const formRef = useRef<HTMLFormElement>(null);
  const alertRef = useRef<HTMLDivElement>(null);
  const hydrated = useHydrated();
  const resolverRef = useRef<Promise<Resolver<Values>> | null>(null);
  const loadSchema = options.schema;
  const loadResolver = () =>
    (resolverRef.current ??= Promise.all([import("@hookform/resolvers/zod"), loadSchema()]).then(
      ([{ zodResolver }, schema]) => zodResolver(schema as never) as unknown as Resolver<Values>,
    ));
  useEffect(() => {
    // Fetched once the page has loaded (not competing with its first-load JavaScript), so the
    // first validation rarely waits for the network.
    const load = () => void loadResolver();
    if (document.readyState === "complete") load();
    else window.addEventListener("load", load, { once: true });
    return () => window.removeEventListener("load", load);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once per mount
  }, []);
  const form = useForm<Values>({
    // The schemas transform values (trim, lower-case); the form keeps what the user typed.
    resolver: async (values, context, resolverOptions) => (await loadResolver())(values, context, resolverOptions),
    // Validate first on submit, then as the user types. Validating on blur inserts error text
    // between mousedown and mouseup on the submit button, moving it away from the pointer, so
    // the click that caused the blur is lost.
    mode: "onSubmit",
    reValidateMode: "onChange",
    criteriaMode: "all",
    shouldFocusError: true,
    defaultValues: options.defaultValues,
  });

  useEffect(() => {
    if (state.status !== "error") return;
    const fields = Object.entries(state.fieldErrors ?? {}) as [Field, string[]][];
    for (const [name, messages] of fields) {
      form.setError(name as unknown as Path<Values>, {
        type: "server",
        message: messages[0],
        types: Object.fromEntries(messages.map((m, i) => [`server${i}`, m])),
      });
    }
    const first = fields[0];
    if (first) form.setFocus(first[0] as unknown as Path<Values>);
    else if (state.formError) alertRef.current?.focus();
  }, [state, form]);

  const busy = pending || submitting;

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (busy) return;
    void form.handleSubmit(async () => {
      const element = formRef.current;
      if (!element) return;
      if (options.prepare && !(await options.prepare(element))) return;
      startTransition(() => formAction(new FormData(element)));
    })(event);
  }

  /** The messages to show under a field: react-hook-form's once hydrated, the server's before. */
  function errorsFor(name: Field): string[] {
    if (hydrated) return messagesOf(form.formState.errors[name] as FieldError | undefined);
    return state.status === "error" ? (state.fieldErrors?.[name] ?? []) : [];
  }

  /** A value to put back after a submission without JavaScript (never a password). */
  function valueFor(name: Field): string | undefined {
    return state.status === "error" ? state.values?.[name] : undefined;
  }

  return { form, state, formAction, formRef, alertRef, onSubmit, busy, errorsFor, valueFor, hydrated };
}
