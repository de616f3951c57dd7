import type { ReactNode } from 'react';

/**
 * A page's table: `columns` name the header cells (a `false` entry is a column
 * left out), `children` are its rows; `empty`, when given, is the one row shown
 * across every column instead (the list loaded and held nothing).
 */
export function Grid(props: {
  label: string;
  columns: readonly (string | false)[];
  empty?: string | undefined;
  children: ReactNode;
}) {
  const shown = props.columns.filter((c): c is string => c !== false);
  return (
    <table className="grid" aria-label={props.label}>
      <thead>
        <tr>
          {shown.map((c) => (
            <th key={c}>{c}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.children}
        {props.empty !== undefined && (
          <tr>
            <td colSpan={shown.length} className="hint">
              {props.empty}
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

/** A short confirmation of what was just done; nothing while `text` is empty. */
export function Notice({ text }: { text: string }) {
  if (text === '') return null;
  return (
    <p className="notice" role="status">
      {text}
    </p>
  );
}
