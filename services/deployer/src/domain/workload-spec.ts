import { invalidArgument } from '@latchkey/errors';
import { DOMAIN_NAME, SECRET_KEY, type ReferenceSpec, type SourceType } from '@latchkey/events';

export const WORKLOAD_KINDS = [
  'COMPUTE',
  'SPARK_JOB',
  'SPARK_STREAMING_JOB',
  'SDK_SPARK_JOB',
  'JUPYTER_CONTAINER',
  'STORAGE_CONFIG',
] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export const WORKLOAD_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
const CONF_NAME = /^[A-Za-z0-9_.-]{1,255}$/;

/** A structured reference `{key, source: {type, id}}`; KUBERNETES is read as MANAGED. */
export interface StructuredRef {
  key: string;
  source: { type: SourceType; id: string };
}

/** One value of envVars / sparkConf: a literal (possibly with placeholders) or a reference. */
export type SpecValue = string | StructuredRef;

export interface WorkloadSpec {
  name: string;
  kind: WorkloadKind;
  envVars: Record<string, SpecValue>;
  sparkConf: Record<string, SpecValue>;
  run?: { command: string[] };
}

/** One piece of a literal: text, or a `${secrets.KEY}` placeholder. */
type Piece = { text: string } | { placeholder: string };

/**
 * Splits a string on `${secrets.KEY}` placeholders; `$${` stands for a
 * literal `${`. Returns an error text for a malformed placeholder.
 */
export function parseTemplate(s: string): Piece[] | string {
  const pieces: Piece[] = [];
  let text = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('$${', i)) {
      text += '${';
      i += 3;
      continue;
    }
    if (s.startsWith('${secrets.', i)) {
      const end = s.indexOf('}', i);
      if (end < 0) return `unterminated placeholder at character ${i}: write \${secrets.KEY}`;
      const key = s.slice(i + '${secrets.'.length, end);
      if (!SECRET_KEY.test(key)) {
        return `placeholder at character ${i} names an invalid key ${JSON.stringify(key.slice(0, 60))}: keys are 1-253 letters, digits, '.', '_' or '-'`;
      }
      if (text) pieces.push({ text });
      text = '';
      pieces.push({ placeholder: key });
      i = end + 1;
      continue;
    }
    text += s[i];
    i++;
  }
  if (text) pieces.push({ text });
  return pieces;
}

export const refIdOf = (r: StructuredRef): string => `${r.source.type}:${r.source.id}:${r.key}`;
export const legacyRefId = (key: string): string => `LEGACY:${key}`;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseValue(v: unknown, path: string, domain: string, problems: string[]): SpecValue | undefined {
  if (typeof v === 'string') {
    const t = parseTemplate(v);
    if (typeof t === 'string') problems.push(`${path}: ${t}`);
    return v;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (!isObject(v)) {
    problems.push(`${path}: expected a string or a reference {"key": ..., "source": {"type": ..., "id": ...}}`);
    return undefined;
  }
  const extra = Object.keys(v).filter((k) => k !== 'key' && k !== 'source');
  if (extra.length > 0)
    problems.push(`${path}: unknown field(s) ${extra.join(', ')} in a reference (allowed: key, source)`);
  const key = v.key;
  if (typeof key !== 'string' || !SECRET_KEY.test(key)) {
    problems.push(`${path}.key: expected a secret key of 1-253 letters, digits, '.', '_' or '-'`);
  }
  const source = v.source;
  if (!isObject(source)) {
    problems.push(`${path}.source: expected {"type": "MANAGED"|"KUBERNETES"|"VAULT", "id": ...}`);
    return undefined;
  }
  const rawType = source.type;
  const type: SourceType | undefined =
    rawType === 'MANAGED' || rawType === 'KUBERNETES' ? 'MANAGED' : rawType === 'VAULT' ? 'VAULT' : undefined;
  if (!type)
    problems.push(`${path}.source.type: expected MANAGED, KUBERNETES or VAULT, got ${JSON.stringify(rawType)}`);
  const id = source.id;
  if (typeof id !== 'string' || id.length === 0) {
    problems.push(
      `${path}.source.id: expected the domain name or "global" (MANAGED), or a Vault integration id (VAULT)`,
    );
  } else if (type === 'MANAGED' && id !== 'global' && id !== domain) {
    problems.push(
      `${path}.source.id: ${DOMAIN_NAME.test(id) ? `domain ${id}` : JSON.stringify(id.slice(0, 60))} is not this workload's domain (${domain}): a workload may reference its own domain's secrets or global ones`,
    );
  }
  if (typeof key !== 'string' || !type || typeof id !== 'string') return undefined;
  return { key, source: { type, id } };
}

function parseMap(v: unknown, path: string, names: RegExp, what: string, domain: string, problems: string[]) {
  const out: Record<string, SpecValue> = {};
  if (v === undefined) return out;
  if (!isObject(v)) {
    problems.push(`${path}: expected an object of ${what}`);
    return out;
  }
  for (const [name, value] of Object.entries(v)) {
    const p = `${path}.${name}`;
    if (!names.test(name)) problems.push(`${p}: invalid ${what} name`);
    const parsed = parseValue(value, p, domain, problems);
    if (parsed !== undefined) out[name] = parsed;
  }
  return out;
}

const TOP_LEVEL = new Set(['name', 'kind', 'envVars', 'sparkConf', 'run', 'description']);

/** Validates a workload document; every problem is reported at once with its JSON path. */
export function parseWorkloadSpec(json: string, domain: string): WorkloadSpec {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw invalidArgument('workload.malformed_json', `the workload is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw invalidArgument('workload.invalid', '$: a workload is a JSON object');
  const problems: string[] = [];
  for (const k of Object.keys(doc)) {
    if (!TOP_LEVEL.has(k)) problems.push(`$.${k}: unknown field (allowed: ${[...TOP_LEVEL].join(', ')})`);
  }
  const name = doc.name;
  if (typeof name !== 'string' || !WORKLOAD_NAME.test(name)) {
    problems.push("$.name: expected 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
  }
  const kind = doc.kind;
  if (typeof kind !== 'string' || !(WORKLOAD_KINDS as readonly string[]).includes(kind)) {
    problems.push(`$.kind: expected one of ${WORKLOAD_KINDS.join(', ')}`);
  }
  const envVars = parseMap(doc.envVars, '$.envVars', ENV_NAME, 'environment variable', domain, problems);
  const sparkConf = parseMap(doc.sparkConf, '$.sparkConf', CONF_NAME, 'Spark conf key', domain, problems);
  let run: WorkloadSpec['run'];
  if (doc.run !== undefined) {
    const command = isObject(doc.run) ? doc.run.command : undefined;
    if (
      !Array.isArray(command) ||
      command.length === 0 ||
      !command.every((c) => typeof c === 'string' && c.length > 0)
    ) {
      problems.push('$.run.command: expected a non-empty array of strings, e.g. ["python3", "job.py"]');
    } else if (command.some((c: string) => c.includes('${secrets.'))) {
      problems.push('$.run.command: secrets never go on a command line (ps shows it to every user): use envVars');
    } else {
      run = { command: command as string[] };
    }
    if (isObject(doc.run)) {
      const extra = Object.keys(doc.run).filter((k) => k !== 'command');
      if (extra.length > 0) problems.push(`$.run: unknown field(s) ${extra.join(', ')} (allowed: command)`);
    }
  }
  if (problems.length > 0) {
    throw invalidArgument('workload.invalid', `the workload has ${problems.length} problem(s): ${problems.join('; ')}`);
  }
  return { name: name as string, kind: kind as WorkloadKind, envVars, sparkConf, ...(run ? { run } : {}) };
}

/** The distinct references of a spec, in a stable order. */
export function referencesOf(spec: WorkloadSpec, domain: string): ReferenceSpec[] {
  const refs = new Map<string, ReferenceSpec>();
  for (const value of [...Object.values(spec.envVars), ...Object.values(spec.sparkConf)]) {
    if (typeof value !== 'string') {
      const refId = refIdOf(value);
      refs.set(refId, {
        refId,
        key: value.key,
        sourceType: value.source.type,
        sourceId: value.source.id,
        legacy: false,
      });
      continue;
    }
    const pieces = parseTemplate(value);
    if (typeof pieces === 'string') continue;
    for (const p of pieces) {
      if ('placeholder' in p) {
        const refId = legacyRefId(p.placeholder);
        refs.set(refId, { refId, key: p.placeholder, sourceType: 'MANAGED', sourceId: domain, legacy: true });
      }
    }
  }
  return [...refs.values()];
}

/** Fills every reference and placeholder from `values` (by refId). */
export function renderValues(
  map: Record<string, SpecValue>,
  values: ReadonlyMap<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(map)) {
    if (typeof value !== 'string') {
      out[name] = values.get(refIdOf(value)) ?? '';
      continue;
    }
    const pieces = parseTemplate(value);
    out[name] =
      typeof pieces === 'string'
        ? value
        : pieces.map((p) => ('text' in p ? p.text : (values.get(legacyRefId(p.placeholder)) ?? ''))).join('');
  }
  return out;
}
