export const REDACTED = '[REDACTED]';

/**
 * Values shorter than this many bytes are not masked: masking them would
 * mangle ordinary text. Managed values that short are refused when stored;
 * a deployment that injects one from a team's Vault says so.
 */
export const MIN_REDACTABLE_BYTES = 4;

const redactable = (value: string) => Buffer.byteLength(value, 'utf8') >= MIN_REDACTABLE_BYTES;

/**
 * The forms in which a value is masked: as is, base64, hex, URL-encoded,
 * and as it appears inside a JSON string (a log line escapes `"`, `\` and
 * control characters).
 */
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
    JSON.stringify(value).slice(1, -1),
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
  private byFirst = new Map<string, string[]>();
  /** The sorted views are rebuilt when next read, not on every add/remove (a resolver adds and removes far more often than it logs). */
  private dirty = false;

  add(values: Iterable<string>): void {
    for (const value of values) {
      if (!redactable(value)) continue;
      for (const form of valueForms(value)) this.counts.set(form, (this.counts.get(form) ?? 0) + 1);
      this.dirty = true;
    }
  }

  remove(values: Iterable<string>): void {
    for (const value of values) {
      if (!redactable(value)) continue;
      for (const form of valueForms(value)) {
        const n = (this.counts.get(form) ?? 0) - 1;
        if (n <= 0) this.counts.delete(form);
        else this.counts.set(form, n);
      }
      this.dirty = true;
    }
  }

  get size(): number {
    return this.counts.size;
  }

  /** Longest first, so that a value containing another is masked whole. */
  get forms(): readonly string[] {
    this.rebuild();
    return this.patterns;
  }

  /** The forms by their first character, longest first: a stream scans with one lookup per character. */
  get formsByFirstChar(): ReadonlyMap<string, readonly string[]> {
    this.rebuild();
    return this.byFirst;
  }

  redact(text: string): string {
    if (this.counts.size === 0) return text;
    let out = text;
    for (const p of this.forms) {
      if (out.includes(p)) out = out.split(p).join(REDACTED);
    }
    return out;
  }

  private rebuild(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.patterns = [...this.counts.keys()].sort((a, b) => b.length - a.length);
    this.byFirst = new Map();
    for (const p of this.patterns) {
      const list = this.byFirst.get(p[0]!) ?? [];
      list.push(p);
      this.byFirst.set(p[0]!, list);
    }
  }
}

/**
 * Line-oriented redaction of a byte stream (a workload's stdout or stderr).
 * A value split across writes is still masked: the longest tail that could
 * be the start of a value form is held back, unmasked, until the next write
 * or the end. Everything before it is masked leftmost-longest; a match that
 * starts there is final, since a longer form starting at the same place would
 * have made a longer tail the held one. (So with a base64 form's padding
 * still to come, the unpadded form already seen is held, not masked short.)
 */
export class StreamRedactor {
  /** Masked text of the current line, not yet emitted. */
  private line = '';
  /** Unmasked tail that may be the start of a value form. */
  private held = '';

  constructor(
    private readonly redactor: Redactor,
    private readonly onLine: (line: string) => void,
  ) {}

  write(chunk: string): void {
    const raw = this.held + chunk;
    const keep = this.heldBack(raw);
    const { masked, next } = this.mask(raw, raw.length - keep);
    this.held = raw.slice(next);
    this.emit(this.line + masked, false);
  }

  end(): void {
    const { masked } = this.mask(this.held, this.held.length);
    this.held = '';
    this.emit(this.line + masked, true);
  }

  private emit(text: string, final: boolean): void {
    const lastNewline = text.lastIndexOf('\n');
    if (final) {
      this.line = '';
      if (text.length > 0) for (const l of text.split('\n')) this.onLine(l);
      return;
    }
    if (lastNewline < 0) {
      this.line = text;
      return;
    }
    this.line = text.slice(lastNewline + 1);
    for (const l of text.slice(0, lastNewline).split('\n')) this.onLine(l);
  }

  /** Masks matches that start before `cut`, longest first at each position; `next`: where unmasked text resumes. */
  private mask(text: string, cut: number): { masked: string; next: number } {
    const byFirst = this.redactor.formsByFirstChar;
    let out = '';
    let i = 0;
    let plainFrom = 0;
    while (i < cut) {
      const candidates = byFirst.get(text[i]!);
      const hit = candidates?.find((f) => text.startsWith(f, i));
      if (hit === undefined) {
        i++;
        continue;
      }
      out += text.slice(plainFrom, i) + REDACTED;
      i += hit.length;
      plainFrom = i;
    }
    out += text.slice(plainFrom, Math.max(i, cut));
    return { masked: out, next: Math.max(i, cut) };
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
