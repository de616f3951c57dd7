import { credentialShape } from './plaintext-credentials.js';

/**
 * A value from a workload document as a message quotes it: a string cut
 * short, a number or boolean as it is, an object or array only named (it may
 * be huge, or nested deeper than JSON.stringify can walk). A string with a
 * well-known credential shape (a credential pasted into the wrong field) is
 * not quoted: a refusal never carries a secret.
 */
export function shownValue(v: unknown): string {
  if (typeof v === 'string') {
    const shape = credentialShape(v);
    if (shape) return `a string of ${v.length} characters (not quoted: ${shape})`;
    return v.length > 60 ? `${JSON.stringify(v.slice(0, 60))}…` : JSON.stringify(v);
  }
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length} item(s)`;
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** `$.a.b` or `$.a["x y"]`, a key cut short. */
const step = (key: string): string =>
  /^[A-Za-z_$][\w$-]*$/.test(key) && key.length <= 60 ? `.${key}` : `[${shownValue(key)}]`;

/**
 * The JSON path of the first string (value or key) holding a NUL character,
 * found without recursion: PostgreSQL stores no NUL in text or jsonb, so such
 * a document can only be refused.
 */
export function nulPath(doc: unknown): string | undefined {
  const stack: { value: unknown; path: string }[] = [{ value: doc, path: '$' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return path;
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push({ value: v, path: `${path}[${i}]` }));
    } else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) {
        if (k.includes('\u0000')) return `${path}${step(k)}`;
        stack.push({ value: v, path: `${path}${step(k)}` });
      }
    }
  }
  return undefined;
}

/** Field names as a message lists them: the first few, each cut short, and how many more. */
export function fieldNames(names: readonly string[]): string {
  const listed = names.slice(0, 10).map((n) => (n.length > 60 ? `${n.slice(0, 60)}…` : n));
  return `${listed.join(', ')}${names.length > 10 ? ` and ${names.length - 10} more` : ''}`;
}
