export const REDACTED = '[REDACTED]';

/** The forms in which a value is masked: as is, base64, hex and URL-encoded. */
export function valueForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const forms = new Set<string>([
    value,
    bytes.toString('base64'),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    encodeURIComponent(value),
  ]);
  return [...forms].filter((f) => f.length > 0);
}

/**
 * Masks known secret values (and their encodings) in text. Values are added
 * while a deployment holds them and removed when it forgets them.
 */
export class Redactor {
  private readonly counts = new Map<string, number>();
  private patterns: string[] = [];

  add(values: Iterable<string>): void {
    for (const value of values) {
      for (const form of valueForms(value)) this.counts.set(form, (this.counts.get(form) ?? 0) + 1);
    }
    this.rebuild();
  }

  remove(values: Iterable<string>): void {
    for (const value of values) {
      for (const form of valueForms(value)) {
        const n = (this.counts.get(form) ?? 0) - 1;
        if (n <= 0) this.counts.delete(form);
        else this.counts.set(form, n);
      }
    }
    this.rebuild();
  }

  get size(): number {
    return this.patterns.length;
  }

  /** Longest first, so that a value containing another is masked whole. */
  get forms(): readonly string[] {
    return this.patterns;
  }

  redact(text: string): string {
    if (this.patterns.length === 0) return text;
    let out = text;
    for (const p of this.patterns) {
      if (out.includes(p)) out = out.split(p).join(REDACTED);
    }
    return out;
  }

  private rebuild(): void {
    this.patterns = [...this.counts.keys()].sort((a, b) => b.length - a.length);
  }
}

/**
 * Line-oriented redaction of a byte stream (a workload's stdout or stderr).
 * A value split across two writes is still masked: text that could be the
 * start of a value is held back until the next write or the end.
 */
export class StreamRedactor {
  private pending = '';

  constructor(
    private readonly redactor: Redactor,
    private readonly onLine: (line: string) => void,
  ) {}

  write(chunk: string): void {
    this.pending = this.redactor.redact(this.pending + chunk);
    const safe = this.pending.length - this.heldBack(this.pending);
    const lastNewline = this.pending.lastIndexOf('\n', safe - 1);
    if (lastNewline < 0) return;
    const complete = this.pending.slice(0, lastNewline);
    this.pending = this.pending.slice(lastNewline + 1);
    for (const line of complete.split('\n')) this.onLine(line);
  }

  end(): void {
    const rest = this.redactor.redact(this.pending);
    this.pending = '';
    if (rest.length > 0) for (const line of rest.split('\n')) this.onLine(line);
  }

  /** Length of the longest suffix of `text` that is a proper prefix of a value form. */
  private heldBack(text: string): number {
    let longest = 0;
    for (const form of this.redactor.forms) {
      const max = Math.min(form.length - 1, text.length);
      for (let n = max; n > longest; n--) {
        if (text.endsWith(form.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }
}
