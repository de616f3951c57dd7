/**
 * Literals in a workload spec that look like credentials (issue 19 §3): what
 * `workload apply` warns about (it never refuses) and what `latchkey migrate`
 * moves into the catalog. Pure: no I/O, and nothing here ever returns or
 * formats a value, only where it is (its JSON path) and why it looks like one.
 *
 * A literal is reported when
 * - its name matches Spark's redaction pattern (`spark.redaction.regex`:
 *   secret, password, token, access key; `_` and `-` count as separators,
 *   as in environment variable names) and it is not plainly something else
 *   (a number, a boolean, a file path, a URL without credentials); or
 * - its value has a well-known credential shape (an AWS access key id, a
 *   private-key block, a JWT, a GitHub or Slack token, a connection string
 *   with a password); or
 * - its name is credential-like (api key, credentials, auth, private key ...)
 *   and its value is a high-entropy string.
 * Text between `${secrets.KEY}` placeholders is checked; the placeholders
 * themselves are references, not literals.
 */
import { parseTemplate } from './workload-references.js';
import type { SpecValue, ValueMap, WorkloadSpec } from './workload-spec-types.js';

export interface CredentialFinding {
  /** Where the literal is, e.g. `$.template.envVars.DB_PASSWORD` or `$.sparkConf["spark.authenticate.secret"]`. */
  path: string;
  /** The same path as its segments from the document's root. */
  segments: string[];
  /** Why it looks like a credential (never the value). */
  reason: string;
  /** The literal also holds `${secrets.KEY}` placeholders: only its text parts are plain. */
  template: boolean;
  /**
   * Where a reference `{key, source}` replaces the literal (segments), or
   * undefined when it cannot: a field that takes no reference ($.endpoint),
   * a literal with placeholders, a $.secretKey beside a $.storageSecret.
   */
  referenceAt?: string[];
}

/** Spark's default redaction pattern, with `_`/`-` accepted in "access key" (ACCESS_KEY). */
const SPARK_NAME = /secret|password|token|access[._-]?key/i;
/** Further names under which a random-looking value is a credential. */
const CREDENTIAL_NAME =
  /api[._-]?key|apikey|credential|auth|private[._-]?key|passwd|pwd|passphrase|signing[._-]?key|(^|[._-])pass($|[._-])|(^|[._-])key$/i;

/** Well-known credential shapes, checked against every literal. */
const SHAPES: { reason: string; pattern: RegExp }[] = [
  { reason: 'it has the shape of an AWS access key id', pattern: /\b(AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/ },
  { reason: 'it holds a private-key block', pattern: /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/ },
  { reason: 'it has the shape of a JWT', pattern: /\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{8,}/ },
  {
    reason: 'it has the shape of a GitHub token',
    pattern: /\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/,
  },
  { reason: 'it has the shape of a Slack token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
  { reason: 'it is a Slack webhook URL', pattern: /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/]{20,}/ },
  {
    reason: 'it is a connection string with a password',
    pattern: /[a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:[^\s@/]+@|[?&;]\s*(password|pwd)\s*=\s*[^&;\s]+/i,
  },
];

/** What a credential-named literal may plainly be instead. */
const NOT_A_CREDENTIAL = [
  /^(true|false|yes|no|on|off|none|null)$/i,
  /^-?\d+(\.\d+)?$/,
  /^(\/|\.\/|~\/)[^\s]*$/,
  /^[a-z][a-z0-9+.-]*:\/\/[^\s@]*$/i,
];

/** Random-looking: no spaces, at least 16 characters, > 3.5 bits of Shannon entropy per character. */
export function isHighEntropy(s: string): boolean {
  if (s.length < 16 || /\s/.test(s)) return false;
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    bits -= p * Math.log2(p);
  }
  return bits > 3.5;
}

/** Which well-known credential shape `value` has, whatever its name, or undefined. */
export function credentialShape(value: string): string | undefined {
  return SHAPES.find((shape) => shape.pattern.test(value))?.reason;
}

/** Why `value` under `name` looks like a credential, or undefined. */
export function credentialReason(name: string, value: string): string | undefined {
  const shape = credentialShape(value);
  if (shape) return shape;
  const trimmed = value.trim();
  if (trimmed.length < 4) return undefined;
  if (SPARK_NAME.test(name)) {
    if (NOT_A_CREDENTIAL.some((p) => p.test(trimmed))) return undefined;
    return "its name matches Spark's redaction pattern (secret, password, token, access key)";
  }
  if (CREDENTIAL_NAME.test(name) && isHighEntropy(trimmed)) {
    return 'its name is credential-like and its value is a high-entropy string';
  }
  return undefined;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `$.a.b["c.d"]`: a segment that is not an identifier is written in brackets. */
export function jsonPath(segments: readonly string[]): string {
  return `$${segments.map((s) => (IDENTIFIER.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`)).join('')}`;
}

function checkLiteral(
  segments: string[],
  name: string,
  value: SpecValue | undefined,
  referenceAt: string[] | undefined,
): CredentialFinding | undefined {
  if (typeof value !== 'string') return undefined;
  const pieces = parseTemplate(value);
  // A malformed placeholder is the parser's to refuse; a plain string parses to text only.
  if (typeof pieces === 'string') return undefined;
  const template = pieces.some((p) => 'placeholder' in p);
  const text = pieces.map((p) => ('text' in p ? p.text : '')).join(template ? ' ' : '');
  const reason = template
    ? pieces.map((p) => ('text' in p ? credentialReason(name, p.text) : undefined)).find((r) => r !== undefined)
    : credentialReason(name, text);
  if (reason === undefined) return undefined;
  return {
    path: jsonPath(segments),
    segments,
    reason,
    template,
    ...(referenceAt !== undefined && !template ? { referenceAt } : {}),
  };
}

/** Every literal of the spec that looks like a credential, in the order of its fields. */
export function findPlaintextCredentials(spec: WorkloadSpec): CredentialFinding[] {
  const maps: [string[], ValueMap | undefined][] = [
    [['envVars'], spec.envVars],
    [['sparkConf'], spec.sparkConf],
    [['template', 'envVars'], spec.template?.envVars],
    [['template', 'sparkConf'], spec.template?.sparkConf],
    [['config', 'envVars'], spec.config?.envVars],
  ];
  const found: CredentialFinding[] = [];
  for (const [at, map] of maps) {
    for (const [name, value] of Object.entries(map ?? {})) {
      const f = checkLiteral([...at, name], name, value, [...at, name]);
      if (f) found.push(f);
    }
  }
  // STORAGE_CONFIG: accessKey takes a reference; a legacy secretKey literal gives way to storageSecret.
  const storage: [string, SpecValue | undefined, string[] | undefined][] = [
    ['endpoint', spec.endpoint, undefined],
    ['accessKey', spec.accessKey, ['accessKey']],
    ['secretKey', spec.secretKey, spec.storageSecret === undefined ? ['storageSecret'] : undefined],
  ];
  for (const [field, value, referenceAt] of storage) {
    const f = checkLiteral([field], field, value, referenceAt);
    if (f) found.push(f);
  }
  return found;
}

/** The warning of one finding: where, why, and what to do (never the value). */
export function credentialWarning(f: CredentialFinding, domain: string): string {
  const fix =
    f.referenceAt === undefined
      ? 'put the credential in the catalog (latchkey secret put) and write it as ${secrets.KEY}'
      : `put it in the catalog and reference it: latchkey migrate --domain ${domain} does this for every workload of the domain`;
  return `${f.path} holds a literal that looks like a credential (${f.reason}); it is stored with the workload and shown by workload get: ${fix}`;
}

/**
 * Apply's warnings about plaintext credentials. `known`: warnings already
 * given; a path one of them starts with (e.g. STORAGE_CONFIG's literal
 * $.secretKey) is not reported twice.
 */
export function plaintextCredentialWarnings(
  spec: WorkloadSpec,
  domain: string,
  known: readonly string[] = [],
): string[] {
  return findPlaintextCredentials(spec)
    .filter((f) => !known.some((w) => w.startsWith(`${f.path} `)))
    .map((f) => credentialWarning(f, domain));
}
