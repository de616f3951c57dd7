import { invalidArgument } from '@latchkey/errors';
import {
  DOMAIN_NAME,
  GLOBAL_SCOPE,
  INTEGRATION_ID,
  OBJECT_NAME,
  SECRET_KEY,
  type ReferenceSpec,
  type SourceType,
} from '@latchkey/events';
import { parseRedeployPolicy, redeployPolicyWarnings, type RedeployPolicy } from './redeploy-policy.js';

export const WORKLOAD_KINDS = [
  'COMPUTE',
  'SPARK_JOB',
  'SPARK_STREAMING_JOB',
  'SDK_SPARK_JOB',
  'JUPYTER_CONTAINER',
  'STORAGE_CONFIG',
] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

const isKind = (k: unknown): k is WorkloadKind => (WORKLOAD_KINDS as readonly unknown[]).includes(k);

export const WORKLOAD_NAME = OBJECT_NAME;

/**
 * Limits on what one workload may hold, checked on apply. They keep every
 * event a workload can cause well inside what the bus carries
 * (MAX_EVENT_BYTES, 1,000,000 bytes, itself under NATS's 1 MiB max_payload).
 * A reference costs at most ~720 bytes in `workload.deploying` (refId ≤ 325,
 * key ≤ 253, source id ≤ 63 characters, plus field names): 64 of them come
 * to ≤ 47 KB. `workload.resolved` carries a version per reference (≤ 720
 * bytes), the sealed values, which the resolver caps at 512 KiB (≈ 700 KB
 * in base64, with their refIds), and at most a warning per reference
 * (≤ 1 KB): ≤ 835 KB in all. `workload.resolution_failed` carries one reason
 * per reference (≤ 1.6 KB each: ≤ 107 KB); `workload.stale` one changed
 * reference (< 1 KB). The spec itself never travels on the bus: its size
 * limit bounds the database row and the gRPC messages (4 MB).
 * workload-limits.test.ts builds each of these events at the limits.
 */
export const WORKLOAD_LIMITS = {
  /** The JSON document as applied, in bytes. */
  specBytes: 256 * 1024,
  /** Distinct secret references (structured or `${secrets.KEY}`) per workload. */
  references: 64,
  /** Characters of one literal value (an environment variable, a Spark conf, an endpoint). */
  valueChars: 32 * 1024,
  /** Characters of an environment variable name or a Spark conf key. */
  nameChars: 255,
} as const;
const ENV_NAME = new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${WORKLOAD_LIMITS.nameChars - 1}}$`);
const CONF_NAME = new RegExp(`^[A-Za-z0-9_.-]{1,${WORKLOAD_LIMITS.nameChars}}$`);

/**
 * Spark's own default for `spark.redaction.regex` (Spark 3.x): the pattern the
 * seed documents describe as masking "secret, password, token" (and access
 * keys) in Spark's logs and UI. Every Spark conf Latchkey hands to a workload
 * carries it, after any pattern of the workload's own.
 */
export const SPARK_REDACTION_REGEX = '(?i)secret|password|token|access[.]?key';
export const SPARK_REDACTION_KEY = 'spark.redaction.regex';

/**
 * Where a STORAGE_CONFIG's settings reach the runtime: the S3A Spark/Hadoop
 * settings the seed documents use (`spark.hadoop.fs.s3a.access.key`,
 * `spark.hadoop.fs.s3a.secret.key`), plus the endpoint.
 */
export const S3A_SETTINGS = {
  endpoint: 'spark.hadoop.fs.s3a.endpoint',
  accessKey: 'spark.hadoop.fs.s3a.access.key',
  secretKey: 'spark.hadoop.fs.s3a.secret.key',
} as const;

/** A structured reference `{key, source: {type, id}}`; KUBERNETES is stored as MANAGED. */
export interface StructuredRef {
  key: string;
  source: { type: SourceType; id: string };
}

/** One value: a literal (possibly with `${secrets.KEY}` placeholders) or a reference. */
export type SpecValue = string | StructuredRef;
export type ValueMap = Record<string, SpecValue>;

/**
 * A workload as applied and shown, in the payload shape of its kind (the
 * seed API's): literals and references only, never values.
 *
 * | kind | where values go |
 * | COMPUTE | envVars, sparkConf |
 * | SPARK_JOB, SPARK_STREAMING_JOB, SDK_SPARK_JOB | template.envVars, template.sparkConf |
 * | JUPYTER_CONTAINER | config.envVars |
 * | STORAGE_CONFIG | endpoint, accessKey, secretKey (legacy), storageSecret |
 *
 * Workloads stored by earlier versions may carry top-level envVars/sparkConf
 * whatever their kind; they are still injected (see injectionsOf).
 */
export interface WorkloadSpec {
  name: string;
  kind: WorkloadKind;
  description?: string;
  envVars?: ValueMap;
  sparkConf?: ValueMap;
  template?: { envVars?: ValueMap; sparkConf?: ValueMap };
  config?: { envVars?: ValueMap };
  endpoint?: string;
  accessKey?: SpecValue;
  /** Legacy: a literal, possibly with placeholders; not used while storageSecret is set. */
  secretKey?: string;
  storageSecret?: StructuredRef;
  run?: WorkloadRun;
  /** Whether a rotation redeploys it by itself (see redeploy-policy.ts); absent: manual. */
  redeployPolicy?: RedeployPolicy;
}

/** How a workload runs: its command, and for the kubernetes runtime its image and resources. */
export interface WorkloadRun {
  command: string[];
  image?: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
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
const shown = (v: unknown): string => JSON.stringify(typeof v === 'string' ? v.slice(0, 60) : v) ?? String(v);

/** Where each kind takes its values, for messages. */
const LAYOUT: Record<WorkloadKind, string> = {
  COMPUTE: 'a COMPUTE workload takes envVars and sparkConf at the top level',
  SPARK_JOB: 'a SPARK_JOB takes template.envVars and template.sparkConf',
  SPARK_STREAMING_JOB: 'a SPARK_STREAMING_JOB takes template.envVars and template.sparkConf',
  SDK_SPARK_JOB: 'an SDK_SPARK_JOB takes template.envVars and template.sparkConf',
  JUPYTER_CONTAINER: 'a JUPYTER_CONTAINER takes config.envVars only (no Spark conf)',
  STORAGE_CONFIG:
    'a STORAGE_CONFIG takes endpoint, accessKey, secretKey (legacy literal) and storageSecret (a reference), and no envVars or sparkConf',
};

/** The home of environment variables and Spark conf per kind, if it has one. */
const HOME: Record<WorkloadKind, { envVars?: string; sparkConf?: string }> = {
  COMPUTE: { envVars: '$.envVars', sparkConf: '$.sparkConf' },
  SPARK_JOB: { envVars: '$.template.envVars', sparkConf: '$.template.sparkConf' },
  SPARK_STREAMING_JOB: { envVars: '$.template.envVars', sparkConf: '$.template.sparkConf' },
  SDK_SPARK_JOB: { envVars: '$.template.envVars', sparkConf: '$.template.sparkConf' },
  JUPYTER_CONTAINER: { envVars: '$.config.envVars' },
  STORAGE_CONFIG: {},
};

/** The top-level fields of each kind besides name, kind, description and run. */
const KIND_FIELDS: Record<WorkloadKind, readonly string[]> = {
  COMPUTE: ['envVars', 'sparkConf'],
  SPARK_JOB: ['template'],
  SPARK_STREAMING_JOB: ['template'],
  SDK_SPARK_JOB: ['template'],
  JUPYTER_CONTAINER: ['config'],
  STORAGE_CONFIG: ['endpoint', 'accessKey', 'secretKey', 'storageSecret'],
};
const COMMON_FIELDS = ['name', 'kind', 'description', 'run', 'redeployPolicy'];
const ANY_KIND_FIELD = new Set(Object.values(KIND_FIELDS).flat());

class Problems {
  readonly list: string[] = [];
  constructor(readonly domain: string) {}
  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }
}

function misplaced(kind: WorkloadKind, what: 'envVars' | 'sparkConf'): string {
  const home = HOME[kind][what];
  const noun = what === 'envVars' ? 'environment variables' : 'Spark conf';
  return home
    ? `misplaced for a ${kind}: put ${noun} at ${home} (${LAYOUT[kind]})`
    : `a ${kind} has no ${noun}: ${LAYOUT[kind]}`;
}

/** A literal longer than WORKLOAD_LIMITS.valueChars: the problem, or undefined. */
function tooLong(v: string): string | undefined {
  return v.length > WORKLOAD_LIMITS.valueChars
    ? `the value is ${v.length} characters long; at most ${WORKLOAD_LIMITS.valueChars} are allowed: keep large content (a certificate, a config file) in the catalog or object storage and reference it`
    : undefined;
}

function parseValue(v: unknown, path: string, p: Problems): SpecValue | undefined {
  if (typeof v === 'string') {
    const long = tooLong(v);
    if (long) {
      p.add(path, long);
      return v;
    }
    const t = parseTemplate(v);
    if (typeof t === 'string') p.add(path, t);
    return v;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (!isObject(v)) {
    p.add(path, 'expected a string or a reference {"key": ..., "source": {"type": ..., "id": ...}}');
    return undefined;
  }
  return parseReference(v, path, p);
}

function parseReference(v: Record<string, unknown>, path: string, p: Problems): StructuredRef | undefined {
  const extra = Object.keys(v).filter((k) => k !== 'key' && k !== 'source');
  if (extra.length > 0) p.add(path, `unknown field(s) ${extra.join(', ')} in a reference (allowed: key, source)`);
  const key = v.key;
  if (typeof key !== 'string' || !SECRET_KEY.test(key)) {
    p.add(`${path}.key`, "expected a secret key of 1-253 letters, digits, '.', '_' or '-'");
  }
  const source = v.source;
  if (!isObject(source)) {
    p.add(`${path}.source`, 'expected {"type": "MANAGED"|"KUBERNETES"|"VAULT", "id": ...}');
    return undefined;
  }
  const extraSource = Object.keys(source).filter((k) => k !== 'type' && k !== 'id');
  if (extraSource.length > 0) p.add(`${path}.source`, `unknown field(s) ${extraSource.join(', ')} (allowed: type, id)`);
  const rawType = source.type;
  const type: SourceType | undefined =
    rawType === 'MANAGED' || rawType === 'KUBERNETES' ? 'MANAGED' : rawType === 'VAULT' ? 'VAULT' : undefined;
  if (!type) p.add(`${path}.source.type`, `expected MANAGED, KUBERNETES or VAULT, got ${shown(rawType)}`);
  const id = source.id;
  if (typeof id !== 'string' || id.length === 0) {
    p.add(`${path}.source.id`, 'expected the domain name or "global" (MANAGED), or a Vault integration id (VAULT)');
  } else if (type === 'MANAGED' && id !== GLOBAL_SCOPE && id !== p.domain) {
    p.add(
      `${path}.source.id`,
      `${DOMAIN_NAME.test(id) ? `domain ${id}` : shown(id)} is not this workload's domain (${p.domain}): a workload may reference its own domain's secrets or global ones`,
    );
  } else if (type === 'VAULT' && !INTEGRATION_ID.test(id)) {
    p.add(
      `${path}.source.id`,
      `${shown(id)} is not a Vault integration id: VAULT references name an integration of this domain by its id (a UUID; latchkey vault list --domain ${p.domain} shows them)`,
    );
  }
  if (typeof key !== 'string' || !type || typeof id !== 'string') return undefined;
  return { key, source: { type, id } };
}

function parseMap(v: unknown, path: string, names: RegExp, what: string, p: Problems): ValueMap {
  const out: ValueMap = {};
  if (!isObject(v)) {
    p.add(path, `expected an object of ${what}s`);
    return out;
  }
  for (const [name, value] of Object.entries(v)) {
    const at = `${path}.${name}`;
    if (name.length > WORKLOAD_LIMITS.nameChars) {
      p.add(
        `${path}.${name.slice(0, 60)}…`,
        `the ${what} name is ${name.length} characters long; at most ${WORKLOAD_LIMITS.nameChars} are allowed`,
      );
      continue;
    }
    if (!names.test(name)) p.add(at, `invalid ${what} name`);
    const parsed = parseValue(value, at, p);
    if (parsed !== undefined) out[name] = parsed;
  }
  return out;
}

const parseEnv = (v: unknown, path: string, p: Problems) => parseMap(v, path, ENV_NAME, 'environment variable', p);
const parseConf = (v: unknown, path: string, p: Problems) => parseMap(v, path, CONF_NAME, 'Spark conf key', p);

function parseTemplateSection(v: unknown, kind: WorkloadKind | undefined, p: Problems): WorkloadSpec['template'] {
  if (!isObject(v)) {
    p.add('$.template', 'expected an object {"envVars": {...}, "sparkConf": {...}}');
    return undefined;
  }
  const out: NonNullable<WorkloadSpec['template']> = {};
  for (const [field, value] of Object.entries(v)) {
    if (field === 'envVars') out.envVars = parseEnv(value, '$.template.envVars', p);
    else if (field === 'sparkConf') out.sparkConf = parseConf(value, '$.template.sparkConf', p);
    else p.add(`$.template.${field}`, `unknown field (allowed: envVars, sparkConf)${kind ? `; ${LAYOUT[kind]}` : ''}`);
  }
  return out;
}

function parseConfigSection(v: unknown, kind: WorkloadKind | undefined, p: Problems): WorkloadSpec['config'] {
  if (!isObject(v)) {
    p.add('$.config', 'expected an object {"envVars": {...}}');
    return undefined;
  }
  const out: NonNullable<WorkloadSpec['config']> = {};
  for (const [field, value] of Object.entries(v)) {
    if (field === 'envVars') out.envVars = parseEnv(value, '$.config.envVars', p);
    else if (field === 'sparkConf') p.add('$.config.sparkConf', misplaced('JUPYTER_CONTAINER', 'sparkConf'));
    else p.add(`$.config.${field}`, `unknown field (allowed: envVars)${kind ? `; ${LAYOUT[kind]}` : ''}`);
  }
  return out;
}

/** Parses one field of a kind into `spec`. */
function parseKindField(
  spec: Partial<WorkloadSpec>,
  field: string,
  value: unknown,
  kind: WorkloadKind | undefined,
  p: Problems,
): void {
  const path = `$.${field}`;
  switch (field) {
    case 'envVars':
      spec.envVars = parseEnv(value, path, p);
      return;
    case 'sparkConf':
      spec.sparkConf = parseConf(value, path, p);
      return;
    case 'template': {
      const t = parseTemplateSection(value, kind, p);
      if (t) spec.template = t;
      return;
    }
    case 'config': {
      const c = parseConfigSection(value, kind, p);
      if (c) spec.config = c;
      return;
    }
    case 'endpoint':
      if (typeof value !== 'string' || value === '') p.add(path, 'expected the storage endpoint URL as a string');
      else if (tooLong(value)) p.add(path, tooLong(value)!);
      else {
        const t = parseTemplate(value);
        if (typeof t === 'string') p.add(path, t);
        else spec.endpoint = value;
      }
      return;
    case 'accessKey': {
      const v = parseValue(value, path, p);
      if (v !== undefined) spec.accessKey = v;
      return;
    }
    case 'secretKey':
      if (typeof value !== 'string' || value === '') {
        p.add(
          path,
          'expected a string (the legacy literal, or "${secrets.KEY}"): put a structured reference in $.storageSecret instead',
        );
      } else if (tooLong(value)) {
        p.add(path, tooLong(value)!);
      } else {
        const t = parseTemplate(value);
        if (typeof t === 'string') p.add(path, t);
        else spec.secretKey = value;
      }
      return;
    case 'storageSecret':
      if (!isObject(value)) {
        p.add(
          path,
          'expected a reference {"key": ..., "source": {"type": ..., "id": ...}}: a literal or "${secrets.KEY}" goes in $.secretKey',
        );
      } else {
        const r = parseReference(value, path, p);
        if (r) spec.storageSecret = r;
      }
      return;
  }
}

/** A Kubernetes resource quantity: `500m`, `2`, `1.5`, `512Mi`, `4G`, `1e3`. */
const QUANTITY = /^[0-9]+(\.[0-9]+)?([eE][0-9]+|m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$/;
/** A resource name: `cpu`, `memory`, `ephemeral-storage`, `nvidia.com/gpu`. */
const RESOURCE_NAME = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function parseResources(v: unknown, p: Problems): WorkloadRun['resources'] {
  const path = '$.run.resources';
  if (!isObject(v)) {
    p.add(path, 'expected an object such as {"requests": {"cpu": "500m"}, "limits": {"memory": "2Gi"}}');
    return undefined;
  }
  const out: NonNullable<WorkloadRun['resources']> = {};
  for (const [section, body] of Object.entries(v)) {
    if (section !== 'requests' && section !== 'limits') {
      p.add(`${path}.${section}`, 'unknown field (allowed: requests, limits)');
      continue;
    }
    if (!isObject(body)) {
      p.add(`${path}.${section}`, 'expected an object of resource name to quantity, e.g. {"memory": "2Gi"}');
      continue;
    }
    const quantities: Record<string, string> = {};
    for (const [name, q] of Object.entries(body)) {
      const at = `${path}.${section}.${name}`;
      const text = typeof q === 'number' && Number.isFinite(q) && q >= 0 ? String(q) : q;
      if (!RESOURCE_NAME.test(name)) p.add(at, 'not a resource name (e.g. cpu, memory, ephemeral-storage)');
      else if (typeof text !== 'string' || !QUANTITY.test(text))
        p.add(at, 'expected a quantity such as "500m", "2", "512Mi" or "4Gi"');
      else quantities[name] = text;
    }
    out[section] = quantities;
  }
  return out;
}

function parseRun(v: unknown, p: Problems): WorkloadSpec['run'] {
  const command = isObject(v) ? v.command : undefined;
  let run: WorkloadSpec['run'];
  if (!Array.isArray(command) || command.length === 0 || !command.every((c) => typeof c === 'string' && c !== '')) {
    p.add('$.run.command', 'expected a non-empty array of strings, e.g. ["python3", "job.py"]');
  } else if (command.some((c: string) => c.includes('${secrets.'))) {
    p.add('$.run.command', 'secrets never go on a command line (ps shows it to every user): use environment variables');
  } else {
    run = { command: command as string[] };
  }
  if (isObject(v)) {
    const extra = Object.keys(v).filter((k) => k !== 'command' && k !== 'image' && k !== 'resources');
    if (extra.length > 0) p.add('$.run', `unknown field(s) ${extra.join(', ')} (allowed: command, image, resources)`);
    if (v.image !== undefined) {
      if (typeof v.image !== 'string' || !/^[^\s$]+$/.test(v.image))
        p.add('$.run.image', 'expected a container image reference without spaces, e.g. "apache/spark:3.5.1"');
      else if (run) run.image = v.image;
    }
    if (v.resources !== undefined) {
      const resources = parseResources(v.resources, p);
      if (run && resources) run.resources = resources;
    }
  }
  return run;
}

/**
 * Validates a workload document in its kind's payload shape; every problem
 * is reported at once with its JSON path. Returns the canonical spec (the
 * KUBERNETES alias stored as MANAGED, numbers and booleans as strings).
 */
export function parseWorkloadSpec(json: string, domain: string): WorkloadSpec {
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > WORKLOAD_LIMITS.specBytes) {
    throw invalidArgument(
      'workload.too_large',
      `the workload is ${bytes} bytes; at most ${WORKLOAD_LIMITS.specBytes} bytes are allowed (and at most ${WORKLOAD_LIMITS.references} distinct secret references, values of at most ${WORKLOAD_LIMITS.valueChars} characters): split it into several workloads, or keep large content in the catalog or object storage`,
      { bytes, limit: WORKLOAD_LIMITS.specBytes },
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw invalidArgument('workload.malformed_json', `the workload is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw invalidArgument('workload.invalid', '$: a workload is a JSON object');
  const p = new Problems(domain);
  const name = doc.name;
  if (typeof name !== 'string' || !WORKLOAD_NAME.test(name)) {
    p.add('$.name', "expected 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
  }
  const kind = isKind(doc.kind) ? doc.kind : undefined;
  if (!kind) {
    p.add(
      '$.kind',
      `${doc.kind === undefined ? 'missing' : `unknown kind ${shown(doc.kind)}`}: expected one of ${WORKLOAD_KINDS.join(', ')}`,
    );
  }
  const spec: Partial<WorkloadSpec> = {};
  if (doc.description !== undefined) {
    if (typeof doc.description !== 'string' || doc.description.length > 1000)
      p.add('$.description', 'expected a string of at most 1000 characters');
    else spec.description = doc.description;
  }
  for (const [field, value] of Object.entries(doc)) {
    if (COMMON_FIELDS.includes(field)) continue;
    if (!ANY_KIND_FIELD.has(field)) {
      const allowed = [...COMMON_FIELDS, ...(kind ? KIND_FIELDS[kind] : [...ANY_KIND_FIELD])];
      p.add(`$.${field}`, `unknown field (allowed${kind ? ` for a ${kind}` : ''}: ${allowed.join(', ')})`);
    } else if (kind && !KIND_FIELDS[kind].includes(field)) {
      p.add(
        `$.${field}`,
        field === 'envVars' || field === 'sparkConf'
          ? misplaced(kind, field)
          : `misplaced for a ${kind}: ${LAYOUT[kind]}`,
      );
    } else {
      // With an unknown kind, the values are still checked wherever they are.
      parseKindField(spec, field, value, kind, p);
    }
  }
  let run: WorkloadSpec['run'];
  if (doc.run !== undefined) run = parseRun(doc.run, p);
  const redeployPolicy =
    doc.redeployPolicy !== undefined ? parseRedeployPolicy(doc.redeployPolicy, (at, m) => p.add(at, m)) : undefined;
  if (p.list.length > 0) {
    throw invalidArgument('workload.invalid', `the workload has ${p.list.length} problem(s): ${p.list.join('; ')}`);
  }
  const parsed: WorkloadSpec = {
    name: name as string,
    kind: kind!,
    ...spec,
    ...(run ? { run } : {}),
    ...(redeployPolicy ? { redeployPolicy } : {}),
  };
  const references = referencesOf(parsed, domain).length;
  if (references > WORKLOAD_LIMITS.references) {
    throw invalidArgument(
      'workload.too_many_references',
      `the workload has ${references} distinct secret references; at most ${WORKLOAD_LIMITS.references} are allowed per workload (each deployment carries all of them on the bus): split it into several workloads, or reference one secret that holds several settings`,
      { references, limit: WORKLOAD_LIMITS.references },
    );
  }
  return parsed;
}

/** What a workload hands its runtime, by kind: environment variables and Spark conf, unrendered. */
export interface Injections {
  env: ValueMap;
  sparkConf: ValueMap;
  /** Whether the runtime gets Spark conf (and so spark.redaction.regex). */
  spark: boolean;
}

export function injectionsOf(spec: WorkloadSpec): Injections {
  // Top-level envVars/sparkConf: COMPUTE, or a workload stored in the flat shape of earlier versions.
  const env: ValueMap = { ...spec.envVars, ...spec.template?.envVars, ...spec.config?.envVars };
  const sparkConf: ValueMap = { ...spec.sparkConf, ...spec.template?.sparkConf };
  if (spec.kind === 'STORAGE_CONFIG') {
    if (spec.endpoint !== undefined) sparkConf[S3A_SETTINGS.endpoint] = spec.endpoint;
    if (spec.accessKey !== undefined) sparkConf[S3A_SETTINGS.accessKey] = spec.accessKey;
    // The reference wins; the legacy literal is only the fallback.
    const secret = spec.storageSecret ?? spec.secretKey;
    if (secret !== undefined) sparkConf[S3A_SETTINGS.secretKey] = secret;
  }
  return { env, sparkConf, spark: spec.kind !== 'JUPYTER_CONTAINER' || Object.keys(sparkConf).length > 0 };
}

/** The distinct references a deployment of the spec resolves, in a stable order. */
export function referencesOf(spec: WorkloadSpec, domain: string): ReferenceSpec[] {
  const refs = new Map<string, ReferenceSpec>();
  const { env, sparkConf } = injectionsOf(spec);
  for (const value of [...Object.values(env), ...Object.values(sparkConf)]) {
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
export function renderValues(map: ValueMap, values: ReadonlyMap<string, string>): Record<string, string> {
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

/**
 * `spark.redaction.regex` as handed to a workload: Latchkey's pattern,
 * appended to the workload's own (never replacing it) unless it is already
 * part of it.
 */
export function withSparkRedaction(own: string | undefined): string {
  if (own === undefined || own.trim() === '') return SPARK_REDACTION_REGEX;
  if (own.includes(SPARK_REDACTION_REGEX)) return own;
  return `${own}|${SPARK_REDACTION_REGEX}`;
}

/** What the runtime receives, rendered with the resolved values. */
export interface Rendered {
  env: Record<string, string>;
  sparkConf: Record<string, string>;
  /** Credentials written literally in the spec (a legacy secretKey), to redact like resolved values. */
  literalSecrets: string[];
}

export function renderForRuntime(spec: WorkloadSpec, values: ReadonlyMap<string, string>): Rendered {
  const inj = injectionsOf(spec);
  const env = renderValues(inj.env, values);
  const sparkConf = renderValues(inj.sparkConf, values);
  if (inj.spark) sparkConf[SPARK_REDACTION_KEY] = withSparkRedaction(sparkConf[SPARK_REDACTION_KEY]);
  const literalSecrets: string[] = [];
  if (spec.kind === 'STORAGE_CONFIG' && !spec.storageSecret && spec.secretKey !== undefined) {
    const used = sparkConf[S3A_SETTINGS.secretKey] ?? '';
    // Shorter ones would mask ordinary text (see the catalog's minimum value length).
    if (used.length >= 4) literalSecrets.push(used);
  }
  return { env, sparkConf, literalSecrets };
}

/** Warnings that follow from the spec alone, shown on apply and get. */
export function specWarnings(spec: WorkloadSpec): string[] {
  const warnings: string[] = [];
  if (spec.kind !== 'COMPUTE' && (spec.envVars !== undefined || spec.sparkConf !== undefined)) {
    warnings.push(
      `this ${spec.kind} is stored in the flat shape of an earlier version (top-level envVars/sparkConf), which is still injected: apply it again in its kind's shape (${LAYOUT[spec.kind]})`,
    );
  }
  if (spec.kind === 'STORAGE_CONFIG' && spec.secretKey !== undefined) {
    const pieces = parseTemplate(spec.secretKey);
    const literal = typeof pieces !== 'string' && pieces.every((x) => 'text' in x);
    if (spec.storageSecret) {
      warnings.push(
        '$.secretKey is kept only as the fallback: $.storageSecret is used while it is set, and $.secretKey is neither resolved nor injected',
      );
    }
    if (literal) {
      warnings.push(
        '$.secretKey holds a literal credential, which is stored with the workload and shown by workload get: put it in the catalog (latchkey secret put) and reference it with $.storageSecret',
      );
    }
  }
  warnings.push(...redeployPolicyWarnings(spec.redeployPolicy));
  return warnings;
}
