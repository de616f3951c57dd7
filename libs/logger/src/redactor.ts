import { randomInt } from 'node:crypto';

export const REDACTED = '[REDACTED]';

/**
 * Text is hashed as polynomials modulo this prime (below 2^26, so that every
 * product stays exact in a double), with a base each redactor picks at
 * random: a stream compares a form with the text only where their hashes
 * agree, so that a long form is compared in full only where it (almost
 * surely) is, and masking stays linear whatever the values and the text.
 */
const HASH_MOD = 67_108_859;

/** A form, with what a stream needs to find it in O(1) per position. */
export interface FormEntry {
  form: string;
  hash: number;
  /** base^length modulo HASH_MOD. */
  power: number;
}

/**
 * Values shorter than this many bytes are not masked: masking them would
 * mangle ordinary text. Managed values that short are refused when stored;
 * a deployment that injects one from a team's Vault says so.
 */
export const MIN_REDACTABLE_BYTES = 4;

const redactable = (value: string) => Buffer.byteLength(value, 'utf8') >= MIN_REDACTABLE_BYTES;

/** Base64 alphabets: standard and URL-safe. */
const toUrlSafe = (b64: string) => b64.replace(/\+/g, '-').replace(/\//g, '_');

/**
 * The base64 characters that stand for the value's bytes alone when it sits
 * inside a longer encoded text (HTTP Basic's `user:pass`, a JSON document
 * encoded whole): for each of the three byte alignments, the characters
 * wholly made of the value's bits (the first and last characters it shares
 * with neighbouring bytes cannot be known), and the same through to the end
 * with padding, for a value that ends the text.
 */
function base64Fragments(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const encoded = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const bare = encoded.replace(/=+$/, '');
    const first = Math.ceil((8 * k) / 6);
    const last = Math.floor((8 * (k + bytes.length)) / 6);
    out.push(bare.slice(first, last), encoded.slice(first), bare.slice(first));
  }
  return out.flatMap((f) => [f, toUrlSafe(f)]);
}

/** JSON with every non-ASCII character escaped (Python's json.dumps default), as inside a string. */
function asciiJson(value: string): string {
  return JSON.stringify(value)
    .slice(1, -1)
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The forms in which a value is masked: as is; base64 (padded, unpadded,
 * url-safe, and at each byte alignment inside a longer encoded text); hex;
 * URL-encoded (as encodeURIComponent, as a form body with `+` for a space,
 * with lowercase escapes); and as it appears inside a JSON string (a log line
 * escapes `"`, `\` and control characters; some encoders escape every
 * non-ASCII character too). A form is a plain substring, so each is found
 * inside longer text.
 */
export function valueForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const uri = encodeURIComponent(value);
  const form = new URLSearchParams({ v: value }).toString().slice(2);
  const lower = (s: string) => s.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());
  const forms = new Set<string>([
    value,
    bytes.toString('base64'),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
    ...base64Fragments(bytes),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    uri,
    lower(uri),
    form,
    lower(form),
    JSON.stringify(value).slice(1, -1),
    asciiJson(value),
  ]);
  return [...forms].filter((f) => f.length > 0);
}

/**
 * What is masked in line-oriented output besides the forms: each line of a
 * value that spans lines (a PEM key), since output is masked line by line.
 */
function lineForms(value: string): string[] {
  if (!value.includes('\n')) return [];
  return value
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter(redactable);
}

const maskedForms = (value: string) => [...new Set([...valueForms(value), ...lineForms(value)])];

/**
 * Masks known secret values (and their encodings) in text. Values are added
 * while a deployment holds them and removed when it forgets them.
 */
export class Redactor {
  /** Each value held, by how many holders, with its forms. */
  private readonly held = new Map<string, { holders: number; forms: string[] }>();
  /** Each form, by how many held values have it (two values can share one: a line of a PEM key). */
  private readonly counts = new Map<string, number>();
  private patterns: string[] = [];
  private byFirst = new Map<string, FormEntry[]>();
  /** The hash base of this redactor's forms (see HASH_MOD). */
  readonly hashBase = 256 + randomInt(HASH_MOD - 512);
  private starts = new Uint8Array(65536);
  /** The sorted views are rebuilt when next read, not on every add/remove (a resolver adds and removes far more often than it logs). */
  private dirty = false;

  add(values: Iterable<string>): void {
    for (const value of values) {
      if (!redactable(value)) continue;
      const held = this.held.get(value);
      if (held) {
        held.holders++;
        continue;
      }
      // The forms are worked out once per value held, however many deployments hold it.
      const forms = maskedForms(value);
      this.held.set(value, { holders: 1, forms });
      for (const form of forms) this.counts.set(form, (this.counts.get(form) ?? 0) + 1);
      this.dirty = true;
    }
  }

  remove(values: Iterable<string>): void {
    for (const value of values) {
      const held = this.held.get(value);
      if (!held || --held.holders > 0) continue;
      this.held.delete(value);
      for (const form of held.forms) {
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

  /** The forms by their first character, longest first, with their hashes: a stream scans with one lookup per character. */
  get formsByFirstChar(): ReadonlyMap<string, readonly FormEntry[]> {
    this.rebuild();
    return this.byFirst;
  }

  /** 1 at each UTF-16 code unit that starts a form: most characters are passed over with one array read. */
  get firstCodes(): Readonly<Uint8Array> {
    this.rebuild();
    return this.starts;
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
    this.starts = new Uint8Array(65536);
    for (const form of this.patterns) {
      this.starts[form.charCodeAt(0)] = 1;
      let hash = 0;
      let power = 1;
      for (let i = 0; i < form.length; i++) {
        hash = (hash * this.hashBase + form.charCodeAt(i)) % HASH_MOD;
        power = (power * this.hashBase) % HASH_MOD;
      }
      const list = this.byFirst.get(form[0]!) ?? [];
      list.push({ form, hash, power });
      this.byFirst.set(form[0]!, list);
    }
  }
}

/** The longest line kept from a workload's output, by default (the rest is counted and dropped). */
export const DEFAULT_MAX_LINE_BYTES = 8192;

export interface StreamRedactorOptions {
  /** A longer line keeps its first this many bytes and ends with `… [cut: N bytes]`. */
  maxLineBytes?: number;
  /** Also mask what follows a key that matches the secret-key pattern (see maskKeyValues). */
  maskKeyValues?: boolean;
}

/**
 * Spark's default `spark.redaction.regex` ((?i)secret|password|token|access[.]?key),
 * applied to `key=value` and `key: value` text: the value after a key that
 * contains one of these words (`DB_PASSWORD=...`, `"api_token": "..."`,
 * `spark.hadoop.fs.s3a.secret.key=...`) is masked, whatever it is. The key's
 * length is bounded, so each position is looked at a bounded number of
 * times: linear in the line.
 */
const KEY_VALUE =
  /((?:secret|password|token|access[.]?key)[A-Za-z0-9_.-]{0,64}["']?[ \t]{0,8}[:=][ \t]{0,8}["']?)([^\s"',;&]+)/gi;

/** `line` with the value after each secret-looking key masked (see KEY_VALUE). */
export function maskKeyValues(line: string): string {
  return line.replace(KEY_VALUE, (_m, key: string, value: string) => (value === REDACTED ? _m : `${key}${REDACTED}`));
}

/** What a stream redactor did, for its tests and metrics: every count is in UTF-16 code units. */
export interface StreamRedactorStats {
  /** The most raw text it ever kept of one line. */
  peakKept: number;
  /** Text handed to the masker, over all lines. */
  masked: number;
  /** Text received. */
  received: number;
  /** Characters compared with a form (where the form's hash and the text's agreed). */
  compared: number;
}

const utf8Length = (codePoint: number) => (codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4);

/**
 * Line-oriented redaction of a text stream (a workload's stdout or stderr).
 *
 * A line is masked and reported when its newline arrives, or at the end of
 * the stream: never earlier or later because of what it contains, so that
 * when a line is stored tells nothing about whether it resembles a value.
 * The text of one line is masked whole however it was split into writes,
 * and a value that spans lines is masked line by line (each of its lines is
 * a form of its own; one shorter than 4 bytes, like any such value, is not). A line longer than `maxLineBytes` keeps its first
 * `maxLineBytes` bytes, plus a fixed window (the longest form, whatever the
 * text) so that a value that starts before the cut is still masked whole;
 * the rest is counted, not kept, and the line ends with `… [cut: N bytes]`.
 * Every character received is looked at a bounded number of times, and at
 * most `maxLineBytes` plus the window is kept: the cost is linear in the
 * output, and the memory bounded, however long a line.
 */
export class StreamRedactor {
  /** Raw text kept of the current line, in the pieces it came in. */
  private parts: string[] = [];
  private keptLength = 0;
  private keptBytes = 0;
  /** UTF-8 bytes of the current line received so far, kept or not. */
  private lineBytes = 0;
  /** Where, in the kept text, the cap fell (once the line reached it). */
  private capAt: number | undefined;
  /** How much is kept past the cap: the longest form, read when the cap is reached. */
  private window = 0;
  private readonly maxLineBytes: number;
  private readonly keyValues: boolean;
  readonly stats: StreamRedactorStats = { peakKept: 0, masked: 0, received: 0, compared: 0 };

  constructor(
    private readonly redactor: Redactor,
    private readonly onLine: (line: string) => void,
    options: StreamRedactorOptions = {},
  ) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.keyValues = options.maskKeyValues ?? false;
  }

  write(chunk: string): void {
    this.stats.received += chunk.length;
    let from = 0;
    while (from <= chunk.length) {
      const newline = chunk.indexOf('\n', from);
      const to = newline < 0 ? chunk.length : newline;
      if (to > from) this.take(chunk.slice(from, to));
      if (newline < 0) return;
      this.finishLine();
      from = newline + 1;
    }
  }

  /** Reports the last line if it has no newline. */
  end(): void {
    if (this.lineBytes > 0) this.finishLine();
  }

  private take(piece: string): void {
    const bytes = Buffer.byteLength(piece, 'utf8');
    this.lineBytes += bytes;
    if (this.capAt === undefined) {
      if (this.keptBytes + bytes <= this.maxLineBytes) {
        this.keep(piece);
        this.keptBytes += bytes;
        return;
      }
      // The cap falls inside this piece: find it, whole characters only.
      let b = this.keptBytes;
      let i = 0;
      while (i < piece.length) {
        const cp = piece.codePointAt(i)!;
        if (b + utf8Length(cp) > this.maxLineBytes) break;
        b += utf8Length(cp);
        i += cp > 0xffff ? 2 : 1;
      }
      this.keptBytes = b;
      this.capAt = this.keptLength + i;
      this.window = Math.max(0, (this.redactor.forms[0]?.length ?? 0) - 1);
    }
    const room = this.capAt + this.window - this.keptLength;
    if (room > 0) this.keep(room >= piece.length ? piece : piece.slice(0, room));
  }

  private keep(piece: string): void {
    this.parts.push(piece);
    this.keptLength += piece.length;
    if (this.keptLength > this.stats.peakKept) this.stats.peakKept = this.keptLength;
  }

  private finishLine(): void {
    const raw = this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
    const cut = this.capAt ?? raw.length;
    const { masked, next } = this.mask(raw, cut);
    this.stats.masked += raw.length;
    let line = this.keyValues ? maskKeyValues(masked) : masked;
    if (this.capAt !== undefined) {
      const dropped = this.lineBytes - Buffer.byteLength(raw.slice(0, next), 'utf8');
      if (dropped > 0) line += ` … [cut: ${dropped} bytes]`;
    }
    this.parts = [];
    this.keptLength = 0;
    this.keptBytes = 0;
    this.lineBytes = 0;
    this.capAt = undefined;
    this.onLine(line);
  }

  /**
   * Masks matches that start before `cut`, longest first at each position;
   * `next`: where the masked text ends. A candidate is compared with the text
   * only where its hash and the text's agree: a comparison that succeeds
   * consumes what it compared, so the comparisons cost at most the text's
   * length (plus hash collisions, about one in 67 million).
   */
  private mask(text: string, cut: number): { masked: string; next: number } {
    if (this.redactor.size === 0) return { masked: text.slice(0, cut), next: cut };
    const byFirst = this.redactor.formsByFirstChar;
    const starts = this.redactor.firstCodes;
    const base = this.redactor.hashBase;
    const n = text.length;
    // Prefix hashes, computed only as far as a candidate needs them.
    let prefix: Float64Array | undefined;
    let hashed = 0;
    const windowHash = (at: number, length: number, power: number) => {
      prefix ??= new Float64Array(n + 1);
      for (; hashed < at + length; hashed++)
        prefix[hashed + 1] = (prefix[hashed]! * base + text.charCodeAt(hashed)) % HASH_MOD;
      return (prefix[at + length]! - ((prefix[at]! * power) % HASH_MOD) + HASH_MOD) % HASH_MOD;
    };
    let out = '';
    let i = 0;
    let plainFrom = 0;
    while (i < cut) {
      const code = text.charCodeAt(i);
      const candidates = starts[code] === 1 ? byFirst.get(text[i]!) : undefined;
      let hit: string | undefined;
      if (candidates) {
        for (const c of candidates) {
          if (i + c.form.length > n || windowHash(i, c.form.length, c.power) !== c.hash) continue;
          this.stats.compared += c.form.length;
          if (text.startsWith(c.form, i)) {
            hit = c.form;
            break;
          }
        }
      }
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
}
