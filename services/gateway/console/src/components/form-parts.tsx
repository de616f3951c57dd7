import type { ReactNode } from 'react';
import { ProblemBox } from './problem-box.js';

/** A labelled one-line text input whose value the page holds. */
export function TextField(props: {
  label: ReactNode;
  name: string;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  required?: boolean;
  disabled?: boolean;
}) {
  return (
    <label>
      {props.label}
      <input
        name={props.name}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        placeholder={props.placeholder}
        required={props.required}
        disabled={props.disabled}
      />
    </label>
  );
}

/** The end of a form: what the gateway refused, the submit button and Cancel. */
export function FormEnd(props: { error: unknown; submit: string; onCancel: () => void }) {
  return (
    <>
      <ProblemBox error={props.error} />
      <button type="submit">{props.submit}</button>{' '}
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
    </>
  );
}
