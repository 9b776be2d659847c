"use client";

import { useEffect, useId, useRef, useState, type ComponentProps, type ReactNode, type Ref } from "react";
import type { UseFormRegisterReturn } from "react-hook-form";
import type { FormState } from "./form-state";
import { useHydrated } from "./use-hydrated";
import { isCommonPassword } from "@/lib/validation/common-passwords";
import { COMMON_PASSWORD_LABEL, PASSWORD_RULES } from "@/lib/validation/password-rules";

type InputProps = Omit<ComponentProps<"input">, keyof UseFormRegisterReturn>;

/** Takes react-hook-form's `register(name)` result spread in as props. */
interface FieldProps extends InputProps, UseFormRegisterReturn {
  label: string;
  errors: string[];
  hint?: ReactNode;
  /** Rendered between the input and its messages (e.g. the show/hide toggle). */
  after?: ReactNode;
}

/** A labelled input whose hint and errors are tied to it with aria-describedby; a text input unless `type` says otherwise. */
export function Field({ label, errors, hint, after, id, ref, type = "text", ...input }: FieldProps) {
  const generated = useId();
  const inputId = id ?? `${input.name}-${generated}`;
  const hintId = `${inputId}-hint`;
  const errorId = `${inputId}-error`;
  const describedBy = [hint ? hintId : null, errors.length > 0 ? errorId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className="field">
      <label htmlFor={inputId}>{label}</label>
      <div className="input-row">
        <input
          id={inputId}
          type={type}
          {...input}
          ref={ref as Ref<HTMLInputElement>}
          aria-invalid={errors.length > 0 ? true : undefined}
          aria-describedby={describedBy}
          autoFocus={errors.length > 0 ? true : input.autoFocus}
        />
        {after}
      </div>
      {hint ? (
        <div id={hintId} className="hint">
          {hint}
        </div>
      ) : null}
      <div id={errorId} className="field-error" aria-live="polite">
        {errors.length === 1 ? <p>{errors[0]}</p> : null}
        {errors.length > 1 ? (
          <ul>
            {errors.map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
        ) : null}
      </div>
    </div>
  );
}

/** A password field with a show/hide toggle (the toggle appears once JavaScript runs). */
export function PasswordField(props: Omit<FieldProps, "type" | "after">) {
  const [visible, setVisible] = useState(false);
  const hydrated = useHydrated();
  return (
    <Field
      {...props}
      type={visible ? "text" : "password"}
      spellCheck={false}
      autoCapitalize="none"
      after={
        hydrated ? (
          <button type="button" className="toggle" aria-pressed={visible} onClick={() => setVisible((v) => !v)}>
            {/* Named by its content, not aria-label, so it is not a second "label" of the field. */}
            {visible ? "Hide" : "Show"}
            <span className="visually-hidden"> {props.label.toLowerCase()}</span>
          </button>
        ) : null
      }
    />
  );
}

/** The password policy as a checklist, ticked as the user types. */
export function PasswordRules({ id, password }: { id: string; password: string }) {
  const [checked, setChecked] = useState<{ password: string; common: boolean } | null>(null);
  const common = checked?.password === password ? checked.common : null;
  useEffect(() => {
    if (!password) return;
    let current = true;
    // Loads the dictionary chunk on first use; it is not in the page's initial JavaScript.
    void isCommonPassword(password).then((result) => {
      if (current) setChecked({ password, common: result });
    });
    return () => {
      current = false;
    };
  }, [password]);

  const items = [
    ...PASSWORD_RULES.map((rule) => ({ id: rule.id, label: rule.label, met: rule.test(password) })),
    { id: "common", label: COMMON_PASSWORD_LABEL, met: password.length > 0 && common === false },
  ];
  return (
    <ul id={id} className="rules" aria-label="Password requirements">
      {items.map((item) => (
        <li key={item.id} data-met={item.met} data-rule={item.id}>
          <span aria-hidden="true">{item.met ? "✓" : "○"}</span> {item.label}
          <span className="visually-hidden">{item.met ? " (met)" : " (not met yet)"}</span>
        </li>
      ))}
    </ul>
  );
}

/** Submit button that shows a pending state and cannot be pressed twice. */
export function SubmitButton({ busy, children, busyLabel }: { busy: boolean; children: ReactNode; busyLabel: string }) {
  return (
    <button type="submit" className="primary" disabled={busy} aria-disabled={busy}>
      {busy ? busyLabel : children}
    </button>
  );
}

/** A form-level message (error or success), announced and focusable. */
export function FormAlert({
  tone,
  children,
  alertRef,
}: {
  tone: "error" | "success";
  children: ReactNode;
  alertRef?: Ref<HTMLDivElement>;
}) {
  return (
    <div
      ref={alertRef}
      tabIndex={-1}
      className={`alert alert-${tone}`}
      role={tone === "error" ? "alert" : "status"}
      data-testid={`form-${tone}`}
    >
      {children}
    </div>
  );
}

/** The form-level error of a server action's answer, if any. */
export function FormError({
  state,
  alertRef,
  children,
}: {
  state: FormState<string>;
  alertRef: Ref<HTMLDivElement>;
  children?: ReactNode;
}) {
  if (state.status !== "error" || !state.formError) return null;
  return (
    <FormAlert tone="error" alertRef={alertRef}>
      <p>{state.formError}</p>
      {children}
    </FormAlert>
  );
}

/** The "Email" field every form uses: trimmed and lower-cased by the schema, not the input. */
export function EmailField(props: Omit<FieldProps, "label" | "type">) {
  return <Field label="Email" type="email" autoComplete="email" inputMode="email" required {...props} />;
}

/** A form's success answer, focused when it appears so screen readers announce it. */
export function SuccessPanel({ message, testId, children }: { message: string; testId: string; children?: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <div className="stack">
      <FormAlert tone="success" alertRef={ref}>
        <p data-testid={testId}>{message}</p>
      </FormAlert>
      {children}
    </div>
  );
}

/**
 * "New password" with the live policy checklist, and its confirmation: the same pair on the
 * register, reset and change-password forms.
 */
export function NewPasswordFields({
  labels,
  password,
  confirm,
}: {
  labels: { password: string; confirm: string };
  password: UseFormRegisterReturn & { errors: string[]; value: string };
  confirm: UseFormRegisterReturn & { errors: string[] };
}) {
  const rulesId = useId();
  const { value, ...passwordField } = password;
  return (
    <>
      <PasswordField
        label={labels.password}
        autoComplete="new-password"
        required
        {...passwordField}
        hint={<PasswordRules id={rulesId} password={value} />}
      />
      <PasswordField label={labels.confirm} autoComplete="new-password" required {...confirm} />
    </>
  );
}
