import { printableValue } from './terminal-text.js';

/**
 * Left-aligned columns separated by two spaces; the last column is not padded.
 * Control characters in a cell are escaped, so a value cannot start a row of its own.
 */
export function formatTable(header: readonly string[], unsafeRows: readonly (readonly string[])[]): string[] {
  const rows = unsafeRows.map((r) => r.map(printableValue));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Prints `value` as indented JSON; returns exit code 0, so that a command can `return printJson(...)`. */
export function printJson(out: (line: string) => void, value: unknown): 0 {
  out(JSON.stringify(value, null, 2));
  return 0;
}

/** Prints a table (see formatTable). */
export function printTable(
  out: (line: string) => void,
  header: readonly string[],
  rows: readonly (readonly string[])[],
): void {
  for (const line of formatTable(header, rows)) out(line);
}

/** Prints each line. */
export function printLines(out: (line: string) => void, lines: readonly string[]): void {
  for (const line of lines) out(line);
}

/** `<title> (N):` and an indented line per item; no line when there is none. */
export function listLines(title: string, items: readonly string[]): string[] {
  return items.length === 0 ? [] : [`${title} (${items.length}):`, ...items.map((item) => `  ${item}`)];
}
