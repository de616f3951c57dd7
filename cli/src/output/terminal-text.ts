/**
 * Text from servers (names, audit records, error messages, workload output)
 * can carry control characters: a line break forges a row, an escape sequence
 * rewrites the terminal. The CLI shows each as a `\uXXXX` escape, which is
 * also valid inside a JSON string, so `--json` output stays parseable.
 */

const TAB = 0x09;
const LINE_FEED = 0x0a;

/** C0 controls, DEL, C1 controls, and the bidirectional overrides and isolates (which reorder what is shown). */
export function isControl(code: number): boolean {
  return (
    code <= 0x1f ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

function escapeWhere(text: string, unsafe: (code: number) => boolean): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    out += unsafe(code) ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
  }
  return out;
}

/** For a block of lines about to be printed: keeps line breaks and tabs, escapes every other control. */
export function printableLines(text: string): string {
  return escapeWhere(text, (c) => c !== LINE_FEED && c !== TAB && isControl(c));
}

/** For one value shown inside a line: escapes every control, line breaks and tabs included. */
export function printableValue(text: string): string {
  return escapeWhere(text, isControl);
}
