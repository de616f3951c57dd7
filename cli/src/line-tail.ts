import type { Readable } from 'node:stream';

/** Keeps the last `size` lines of a process's output, for error reports. */
export class LineTail {
  private readonly lines: string[] = [];
  constructor(private readonly size = 20) {}

  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.size) this.lines.shift();
  }

  all(): string[] {
    return [...this.lines];
  }
}

/** Calls `onLine` for each complete line of `stream` (and a trailing partial line at its end). */
export function forEachLine(stream: Readable | null | undefined, onLine: (line: string) => void): void {
  if (!stream) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let nl = pending.indexOf('\n');
    while (nl !== -1) {
      onLine(pending.slice(0, nl).replace(/\r$/, ''));
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
    }
  });
  stream.on('end', () => {
    if (pending !== '') onLine(pending);
    pending = '';
  });
}

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
