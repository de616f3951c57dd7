export { forEachLine, LineTail } from '@latchkey/embedded';

/**
 * The `msg` of the last error-looking JSON log line (a service that cannot
 * start logs why, as one JSON line, and exits), or undefined.
 */
export function lastErrorMessage(lines: readonly string[]): string | undefined {
  let fallback: string | undefined;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]?.trim() ?? '';
    if (!line.startsWith('{')) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    const rec = parsed as { msg?: unknown; level?: unknown };
    if (typeof rec.msg !== 'string' || rec.msg === '') continue;
    const level = rec.level;
    const isError = (typeof level === 'number' && level >= 50) || level === 'error' || level === 'fatal';
    if (isError) return rec.msg;
    fallback ??= rec.msg;
  }
  return fallback;
}
