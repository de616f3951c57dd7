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

export function printJson(out: (line: string) => void, value: unknown): void {
  out(JSON.stringify(value, null, 2));
}
