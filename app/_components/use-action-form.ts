"use client";

import { useActionState, useEffect, useRef, useTransition, type FormEvent } from "react";
import {
  useForm,
  type DefaultValues,
  type FieldError,
  type FieldErrors,
  type FieldValues,
  type Path,
  type Resolver,
} from "react-hook-form";
import type { FormCheck } from "@/lib/validation/form-checks";
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

/** A form's check as react-hook-form's resolver: every message of a field in `types`, as criteriaMode "all" wants. */
function resolverOf<Values extends FieldValues>(check: FormCheck<Values>): Resolver<Values> {
  return (values) => {
    const errors: Record<string, FieldError> = {};
    for (const [name, messages] of Object.entries(check(values as Partial<Values>)) as [string, string[]][]) {
      errors[name] = { type: "check", message: messages[0], types: Object.fromEntries(messages.map((m, i) => [`check${i}`, m])) };
    }
    return Object.keys(errors).length > 0 ? { values: {}, errors: errors as FieldErrors<Values> } : { values, errors: {} };
  };
}

/**
 * react-hook-form with the form's own check (lib/validation/form-checks.ts) for instant
 * feedback, submitted through useActionState so the same form posts to the server action when
 * JavaScript is off. Server field errors are merged into react-hook-form's, and focus moves to
 * the first field in error.
 */
export function useActionForm<Values extends FieldValues>(options: {
  /**
   * The browser's check: the same rules as the zod schema the server action parses with, without
   * zod's bytes (form-checks.test.ts holds the two to the same answers).
   */
  check: FormCheck<Values>;
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
  const form = useForm<Values>({
    // The form keeps what the user typed; the server trims and lower-cases what it stores.
    resolver: resolverOf(options.check),
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
